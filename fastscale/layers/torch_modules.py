"""The few torch modules the layer vocabulary needs beyond torch.nn (imported only by build)."""

from __future__ import annotations

import torch
from torch import nn


class SqueezeExcite(nn.Module):
    def __init__(self, reduce: nn.Module, act: nn.Module, expand: nn.Module):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce, self.act, self.expand = reduce, act, expand

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.expand(self.act(self.reduce(self.pool(x)))))


class ResidualModule(nn.Module):
    def __init__(self, main: nn.Module, proj: nn.Module | None, identity: bool, act: nn.Module | None):
        super().__init__()
        self.main, self.proj, self.identity, self.act = main, proj, identity, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.main(x)
        if self.proj is not None:
            out = out + self.proj(x)
        elif self.identity:
            out = out + x
        return self.act(out) if self.act is not None else out


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of an NCHW map (ConvNeXt's stem and downsampling layers)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Permute(nn.Module):
    def __init__(self, dims: tuple):
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)


class LayerScale(nn.Module):
    """Channels-last per-channel scale, initialised as ConvNeXt does (1e-6)."""

    def __init__(self, w: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((w,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class TokenEmbed(nn.Module):
    """Patch map (B, C, g, g) -> tokens (B, g*g + 1, C): class token first, position embedding added."""

    def __init__(self, w: int, tokens: int):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, w))
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, w) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return x + self.pos_embed


class ClassToken(nn.Module):
    """Token 0's features, copied (so a classifier saves that token alone at any batch size)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0].clone()


ATTENTION_KERNELS = {0: "error", 1: "math", 2: "flash", 3: "efficient", 4: "cudnn", 5: "overrideable"}


class SelfAttention(nn.Module):
    """Multi-head self-attention. On CPU the explicit path (two matrix products and a softmax,
    what timm runs with fused attention off, and what fvcore counts); on CUDA torch's fused
    ``scaled_dot_product_attention``. ``kernel`` names what the last forward ran: ``math`` (the
    explicit path), or the SDPA backend torch chose (``flash``, ``efficient``, ``cudnn``)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.kernel = "math"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if x.is_cuda:
            self.kernel = ATTENTION_KERNELS.get(int(torch._fused_sdp_choice(q, k, v)), "unknown")
            o = nn.functional.scaled_dot_product_attention(q, k, v)
        else:
            # Contiguous copies: what autograd saves is then the same at every batch size.
            q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
            attn = (q * self.scale) @ k.transpose(-2, -1)
            o = attn.softmax(dim=-1) @ v
            self.kernel = "math"
        return self.proj(o.transpose(1, 2).reshape(b, n, c))
