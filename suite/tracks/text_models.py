"""Text classifiers for token-id inputs: a small pre-LayerNorm Transformer encoder.

Written with plain nn.Linear / nn.LayerNorm / matmul / softmax (not nn.TransformerEncoder) so that
* the legacy ONNX exporter emits ordinary MatMul/Gemm nodes that ONNX Runtime's int8 quantizers
  (dynamic and static) rewrite, and `torch.ao.quantization.quantize_dynamic` swaps every projection;
* the model has a single input, int64 token ids (N, L), pad id 0: the padding mask is computed inside
  the model from `ids == pad_id`, so every runtime feeds exactly one tensor.

Padding is masked exactly (masked keys get a -1e4 additive bias, so exp() underflows to 0; pooling is a
mean over non-pad positions). Trailing all-pad columns therefore change nothing, and in eager mode the
model drops them before computing (`trim_padding`): training and torch evaluation cost scales with the
longest sentence in a batch, not with the fixed sequence length. Exported graphs (ONNX, TorchScript trace)
keep the fixed length, because tracing never takes the trimming branch.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

PAD_ID = 0
MASK_BIAS = -1e4  # additive attention bias for pad keys; exp(-1e4) == 0 in float32


def _is_exporting() -> bool:
    return bool(torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export())


def trim_padding(ids, pad_id: int = PAD_ID):
    """Drop trailing columns that are padding in every row (eager mode only: a data-dependent shape)."""
    used = (ids != pad_id).any(dim=0).nonzero()
    length = int(used.max()) + 1 if used.numel() else 1
    return ids[:, :length] if length < ids.shape[1] else ids


class SelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.n_heads, self.head_dim = n_heads, d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)
        self.scale = 1.0 / math.sqrt(self.head_dim)

    def forward(self, x, bias):
        n, length, d = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                       # (N, H, L, Dh)
        scores = torch.matmul(q, k.transpose(-2, -1)) * self.scale + bias  # bias: (N, 1, 1, L)
        weights = self.dropout(torch.softmax(scores, dim=-1))
        ctx = torch.matmul(weights, v).transpose(1, 2).reshape(n, length, d)
        return self.out(ctx)


class EncoderBlock(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_heads, dropout)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff1 = nn.Linear(d_model, d_ff)
        self.ff2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, bias):
        x = x + self.dropout(self.attn(self.ln1(x), bias))
        return x + self.dropout(self.ff2(self.dropout(F.gelu(self.ff1(self.ln2(x))))))


class TransformerClassifier(nn.Module):
    """ids (N, L) int64 -> logits (N, num_classes). Learned positions, mean-pool over non-pad tokens.

    embed_dim < d_model factorises the token embedding (ALBERT-style: vocab x embed_dim, then a
    Linear to d_model), which keeps the vocabulary table, the bulk of a small text model, small."""

    input_dtype = "int64"  # read by methods.export (traced example input) when no dtype is passed

    def __init__(self, vocab_size: int, seq_len: int, d_model: int, n_layers: int, n_heads: int,
                 d_ff: int, num_classes: int = 2, dropout: float = 0.1, pad_id: int = PAD_ID,
                 embed_dim: int | None = None):
        super().__init__()
        embed_dim = embed_dim or d_model
        self.pad_id, self.seq_len = pad_id, seq_len
        self.config = dict(vocab_size=vocab_size, seq_len=seq_len, d_model=d_model, n_layers=n_layers,
                           n_heads=n_heads, d_ff=d_ff, num_classes=num_classes, dropout=dropout,
                           pad_id=pad_id, embed_dim=embed_dim)
        self.tok = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.tok_proj = nn.Linear(embed_dim, d_model) if embed_dim != d_model else nn.Identity()
        self.pos = nn.Embedding(seq_len, d_model)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(EncoderBlock(d_model, n_heads, d_ff, dropout) for _ in range(n_layers))
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, num_classes)
        self._init()

    def _init(self):
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=0.02)
        with torch.no_grad():
            self.tok.weight[self.pad_id].zero_()

    def to_keras(self):
        """The same weights in tf-keras (for TFLite); see suite/tracks/text_keras.py."""
        from suite.tracks.text_keras import transformer_to_keras
        return transformer_to_keras(self)

    def forward(self, ids):
        if not _is_exporting():
            if ids.shape[1] > self.seq_len:
                raise ValueError(f"sequence length {ids.shape[1]} exceeds the model's {self.seq_len}")
            ids = trim_padding(ids, self.pad_id)
        ids = ids.long()
        mask = (ids != self.pad_id).to(torch.float32)             # (N, L)
        bias = ((1.0 - mask) * MASK_BIAS)[:, None, None, :]        # (N, 1, 1, L)
        x = self.tok_proj(self.tok(ids)) + self.pos.weight[: ids.shape[1]].unsqueeze(0)
        x = self.drop(x)
        for block in self.blocks:
            x = block(x, bias)
        x = self.ln(x)
        weights = mask.unsqueeze(-1)
        pooled = (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return self.head(pooled)


def transformer_classifier(vocab_size: int, seq_len: int = 64, d_model: int = 256, n_layers: int = 4,
                           n_heads: int = 4, d_ff: int = 1024, num_classes: int = 2, dropout: float = 0.1,
                           embed_dim: int | None = None):
    """A randomly initialised TransformerClassifier."""
    return TransformerClassifier(vocab_size, seq_len, d_model, n_layers, n_heads, d_ff, num_classes, dropout,
                                 embed_dim=embed_dim)
