"""torch.promote_types over every pair of Ember's dtypes: each case's output
is a 0-d zero of the promoted dtype (the golden comparison checks dtypes)."""
import torch

from common import Case

DTYPES = {
    "f32": torch.float32, "f64": torch.float64, "bf16": torch.bfloat16, "f16": torch.float16,
    "i8": torch.int8, "u8": torch.uint8, "i16": torch.int16, "i32": torch.int32, "i64": torch.int64,
    "b8": torch.bool,
}


def cases():
    out = []
    for a_name, a in DTYPES.items():
        for b_name, b in DTYPES.items():
            out.append(Case(f"promote_types/{a_name}_{b_name}", [torch.zeros(1, dtype=a), torch.zeros(1, dtype=b)],
                            lambda x, y: torch.zeros((), dtype=torch.promote_types(x.dtype, y.dtype)), grad=False))
    return out
