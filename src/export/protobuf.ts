/**
 * A minimal protocol buffers writer: varints, length-delimited fields and
 * nested messages, enough to write an ONNX ModelProto. Writing needs no
 * schema compiler and no runtime dependency; the field numbers live beside
 * the messages in `onnx.ts`.
 *
 * @internal
 * @module
 */

const WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_I32 = 5;

/** Builds one message's bytes; nested messages are written by nested writers. @internal */
export class ProtoWriter {
  #buf = new Uint8Array(256);
  #len = 0;

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  #byte(b: number): void {
    this.#reserve(1);
    this.#buf[this.#len++] = b;
  }

  /** Writes a varint; negative numbers as 64-bit two's complement (10 bytes). */
  #varint(value: number): void {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(
        `Expected a safe integer for a protobuf varint but found ${value}`,
      );
    }
    if (value < 0) {
      let v = BigInt.asUintN(64, BigInt(value));
      while (v >= 0x80n) {
        this.#byte(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      this.#byte(Number(v));
      return;
    }
    let v = value;
    while (v >= 0x80) {
      this.#byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.#byte(v);
  }

  #tag(field: number, wire: number): void {
    this.#varint(field * 8 + wire);
  }

  /** An int32, int64 or enum field. */
  int(field: number, value: number): this {
    this.#tag(field, WIRE_VARINT);
    this.#varint(value);
    return this;
  }

  /** A float field. */
  float(field: number, value: number): this {
    this.#tag(field, WIRE_I32);
    this.#reserve(4);
    new DataView(this.#buf.buffer).setFloat32(this.#len, value, true);
    this.#len += 4;
    return this;
  }

  /** A bytes field. */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, WIRE_LEN);
    this.#varint(value.length);
    this.#reserve(value.length);
    this.#buf.set(value, this.#len);
    this.#len += value.length;
    return this;
  }

  /** A string field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** A nested message field. */
  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  /** The bytes written so far. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
