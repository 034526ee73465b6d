"""Multi-head self-attention on a token sequence: qkv projection, the two matrix products, the
softmax, the output projection.

Complexity (fvcore's count of the explicit path): the two linears, plus ``n * n * dim``
multiply-adds for each product (``q @ k^T`` and ``attn @ v``); acts: the linears' outputs, the
attention map (``heads * n * n``) and ``attn @ v`` (``n * dim``).

What backward keeps depends on the kernel torch runs (``Tracer.attention``):

``math``
    The explicit path (CPU, ``fastscale.layers.torch_modules.SelfAttention``): the scaled query,
    the key and value copies, and the softmax's output (``heads * n * n``, the big one).
``flash`` / ``efficient`` / ``cudnn``
    Fused SDPA on CUDA: the query, key and value (views of the qkv output, one storage), the
    output, and a float32 log-sum-exp per head and query (the memory-efficient kernel pads the
    queries to a multiple of 32; cuDNN's statistics are taken to be flash's). No ``n x n`` map
    is kept. Written from the kernels' autograd formulas; a GPU run calibrates them (the
    worker reports ``attention_kernel``, and ``memory_ratio`` beside it).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastscale.layers.cx import Cx
from fastscale.layers.tokens import TokenLinear
from fastscale.layers.trace import Ten, Tracer

KERNELS = ("math", "flash", "efficient", "cudnn")


def default_kernel(device: str, dtype: str = "float32") -> str:
    """What runs by default: the explicit path on CPU; on CUDA torch's SDPA picks flash attention
    for 16-bit inputs and the memory-efficient kernel for float32 (flash has no float32 kernel)."""
    if device == "cpu":
        return "math"
    return "efficient" if dtype == "float32" else "flash"


@dataclass(frozen=True, slots=True)
class Attention:
    dim: int
    heads: int

    def complexity(self, cx: Cx) -> None:
        n = cx.h * cx.w
        TokenLinear(self.dim, 3 * self.dim).complexity(cx)
        cx.flops += 2 * n * n * self.dim
        cx.acts += self.heads * n * n + n * self.dim
        TokenLinear(self.dim, self.dim).complexity(cx)

    def trace(self, tr: Tracer) -> None:
        n, d = tr.h * tr.w, self.dim
        TokenLinear(d, 3 * d).trace(tr)
        qkv = tr.cur
        if tr.attention == "math":
            out = self._math(tr, qkv, n)
        else:
            out = Ten(n * d)
            lse = self.heads * (n if tr.attention == "flash" else -(-n // 32) * 32)
            op = tr.op("sdpa", (qkv,), (out,), flops=2 * n * n * d, saved_f32=lse, kernels_fwd=1, kernels_bwd=2)
            tr.save(op, qkv)
            tr.save(op, out)
            op.saved_tensors += 1
        if self.heads > 1:  # (B, H, N, D) -> (B, N, H * D) is a copy, unless there is one head
            tr.cur = Ten(n * d)
            tr.op("copy", (out,), (tr.cur,), kernels_fwd=1, kernels_bwd=1)
        else:
            tr.cur = out
        TokenLinear(d, d).trace(tr)
        tr.modules += 1

    def _math(self, tr: Tracer, qkv: Ten, n: int) -> Ten:
        d, h = self.dim, self.heads
        q, k, v = Ten(n * d), Ten(n * d), Ten(n * d)
        tr.op("copy", (qkv,), (q, k, v), kernels_fwd=3, kernels_bwd=3)
        qs = Ten(n * d)
        tr.op("mul", (q,), (qs,), kernels_fwd=1, kernels_bwd=1)
        scores = Ten(h * n * n)
        op = tr.op("matmul", (qs, k), (scores,), flops=n * n * d, kernels_fwd=1, kernels_bwd=2)
        tr.save(op, qs)
        tr.save(op, k)
        probs = Ten(h * n * n)
        tr.save(tr.op("softmax", (scores,), (probs,), kernels_fwd=1, kernels_bwd=1), probs)
        out = Ten(n * d)
        op = tr.op("matmul", (probs, v), (out,), flops=n * n * d, kernels_fwd=1, kernels_bwd=2)
        tr.save(op, probs)
        tr.save(op, v)
        return out

    def build(self):
        from fastscale.layers.torch_modules import SelfAttention

        return SelfAttention(self.dim, self.heads)
