/**
 * Optimizers as pure `{ init, update }` pairs, gradient transformations,
 * `chain`, and learning-rate schedules.
 *
 * @module
 */
export {
  adam,
  adamw,
  addDecayedWeights,
  chain,
  clipByGlobalNorm,
  constantSchedule,
  cosineSchedule,
  type GradientTransformation,
  type LearningRate,
  momentum,
  type Optimizer,
  type OptState,
  scaleByAdam,
  scaleByLearningRate,
  type Schedule,
  sgd,
  stepSchedule,
  traceMomentum,
} from "./optimizers.ts";
