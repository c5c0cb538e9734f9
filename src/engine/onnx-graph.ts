/**
 * A minimal ONNX protobuf writer: just enough of onnx.proto (ModelProto, GraphProto, NodeProto,
 * AttributeProto, ValueInfoProto/TypeProto/TensorShapeProto, OperatorSetIdProto) to describe a
 * one-node graph such as a Gemm with symbolic dimensions. Field numbers follow onnx/onnx.proto.
 */

/** Growable byte buffer with the protobuf wire-format primitives. */
class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Unsigned varint (values up to 2^53, enough for every field written here). */
  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }

  private tag(field: number, wireType: number): void {
    this.varint(field * 8 + wireType);
  }

  /** int64/int32/enum field (non-negative values only). */
  intField(field: number, value: number): void {
    this.tag(field, 0);
    this.varint(value);
  }

  /** 32-bit float field (wire type 5, little-endian). */
  floatField(field: number, value: number): void {
    this.tag(field, 5);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true);
    this.len += 4;
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, 2);
    this.varint(bytes.length);
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  stringField(field: number, value: string): void {
    this.bytesField(field, new TextEncoder().encode(value));
  }

  messageField(field: number, write: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    write(inner);
    this.bytesField(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** ONNX TensorProto.DataType.FLOAT */
export const ONNX_FLOAT = 1;

/** A dimension: a fixed size or a symbolic name (dim_param). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  /** TensorProto.DataType; ONNX_FLOAT for float32. */
  elemType: number;
  shape: Dim[];
}

export type AttributeValue = { kind: 'int'; value: number } | { kind: 'float'; value: number };

export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: Record<string, AttributeValue>;
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Default-domain opset version. */
  opset: number;
  /** ONNX IR version of the file. */
  irVersion?: number;
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.stringField(1, v.name); // ValueInfoProto.name
  w.messageField(2, (type) => {
    // ValueInfoProto.type: TypeProto
    type.messageField(1, (tensor) => {
      // TypeProto.tensor_type: TypeProto.Tensor
      tensor.intField(1, v.elemType); // elem_type
      tensor.messageField(2, (shape) => {
        // shape: TensorShapeProto
        for (const d of v.shape) {
          shape.messageField(1, (dim) => {
            // TensorShapeProto.dim: Dimension
            if (typeof d === 'number') dim.intField(1, d); // dim_value
            else dim.stringField(2, d); // dim_param
          });
        }
      });
    });
  });
}

function writeNode(w: ProtoWriter, n: NodeSpec): void {
  for (const i of n.inputs) w.stringField(1, i); // NodeProto.input
  for (const o of n.outputs) w.stringField(2, o); // NodeProto.output
  if (n.name) w.stringField(3, n.name); // name
  w.stringField(4, n.opType); // op_type
  for (const [name, attr] of Object.entries(n.attributes ?? {})) {
    w.messageField(5, (a) => {
      // NodeProto.attribute: AttributeProto
      a.stringField(1, name);
      if (attr.kind === 'float') {
        a.floatField(2, attr.value); // f
        a.intField(20, ATTR_FLOAT); // type
      } else {
        a.intField(3, attr.value); // i
        a.intField(20, ATTR_INT);
      }
    });
  }
}

/** Serialises a ModelProto holding one graph. */
export function encodeModel(spec: GraphSpec): Uint8Array {
  const w = new ProtoWriter();
  w.intField(1, spec.irVersion ?? 8); // ModelProto.ir_version
  w.stringField(2, 'rwkv-music'); // producer_name
  w.messageField(7, (g) => {
    // ModelProto.graph: GraphProto
    for (const n of spec.nodes) g.messageField(1, (nw) => writeNode(nw, n));
    g.stringField(2, spec.name);
    for (const v of spec.inputs) g.messageField(11, (vw) => writeValueInfo(vw, v));
    for (const v of spec.outputs) g.messageField(12, (vw) => writeValueInfo(vw, v));
  });
  w.messageField(8, (o) => {
    // ModelProto.opset_import: OperatorSetIdProto (default domain "")
    o.intField(2, spec.opset);
  });
  return w.finish();
}
