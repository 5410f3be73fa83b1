"""The TransformerClassifier rebuilt in tf-keras with the same weights (for TFLite / the `edge` target).

Same computation as `suite.tracks.text_models.TransformerClassifier` at the fixed sequence length:
token gather (+ factorised projection), learned positions, pre-LN blocks (fused QKV, exact-erf GELU),
final LayerNorm, mean-pool over non-pad tokens, linear head. The input stays int64 token ids (N, 64);
the padding mask is computed in the graph, as in torch."""
from __future__ import annotations

import numpy as np

from suite.lazy import require


def _np(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().astype(np.float32)


def transformer_to_keras(model):
    """tf_keras.Model(int64 ids (N, seq_len)) -> logits, with the torch model's weights."""
    tf = require("tensorflow", "tf")
    keras = require("tf_keras", "tf")
    from torch import nn

    cfg = model.config
    seq_len, d, heads = cfg["seq_len"], cfg["d_model"], cfg["n_heads"]
    head_dim = d // heads
    const = keras.initializers.Constant

    def dense(linear, activation=None):
        return keras.layers.Dense(linear.out_features, activation=activation,
                                  kernel_initializer=const(_np(linear.weight).T),
                                  bias_initializer=const(_np(linear.bias)))

    def layer_norm(ln):
        return keras.layers.LayerNormalization(epsilon=ln.eps, gamma_initializer=const(_np(ln.weight)),
                                               beta_initializer=const(_np(ln.bias)))

    class Encoder(keras.layers.Layer):
        def __init__(self):
            super().__init__(name="transformer_classifier")
            self.tok = self.add_weight(name="tok", shape=tuple(model.tok.weight.shape),
                                       initializer=const(_np(model.tok.weight)), trainable=True)
            self.pos = self.add_weight(name="pos", shape=(seq_len, d),
                                       initializer=const(_np(model.pos.weight)[:seq_len]), trainable=True)
            self.tok_proj = dense(model.tok_proj) if isinstance(model.tok_proj, nn.Linear) else None
            self.blocks = [dict(ln1=layer_norm(b.ln1), qkv=dense(b.attn.qkv), out=dense(b.attn.out),
                                ln2=layer_norm(b.ln2), ff1=dense(b.ff1), ff2=dense(b.ff2)) for b in model.blocks]
            for i, block in enumerate(self.blocks):  # track the sub-layers so their weights are the model's
                for key, sub in block.items():
                    setattr(self, f"b{i}_{key}", sub)
            self.ln = layer_norm(model.ln)
            self.head = dense(model.head)
            self.scale = 1.0 / float(np.sqrt(head_dim))
            self.pad_id = cfg["pad_id"]

        def _heads(self, t):
            return tf.transpose(tf.reshape(t, (-1, seq_len, heads, head_dim)), (0, 2, 1, 3))

        def call(self, ids):
            mask = tf.cast(tf.not_equal(ids, self.pad_id), tf.float32)            # (N, L)
            bias = tf.reshape((1.0 - mask) * -1e4, (-1, 1, 1, seq_len))
            x = tf.gather(self.tok, ids)
            if self.tok_proj is not None:
                x = self.tok_proj(x)
            x = x + self.pos
            for b in self.blocks:
                q, k, v = tf.split(b["qkv"](b["ln1"](x)), 3, axis=-1)
                scores = tf.matmul(self._heads(q), self._heads(k), transpose_b=True) * self.scale + bias
                ctx = tf.matmul(tf.nn.softmax(scores, axis=-1), self._heads(v))
                ctx = tf.reshape(tf.transpose(ctx, (0, 2, 1, 3)), (-1, seq_len, d))
                x = x + b["out"](ctx)
                x = x + b["ff2"](tf.nn.gelu(b["ff1"](b["ln2"](x)), approximate=False))
            x = self.ln(x)
            weights = tf.expand_dims(mask, -1)
            pooled = tf.reduce_sum(x * weights, axis=1) / tf.maximum(tf.reduce_sum(weights, axis=1), 1.0)
            return self.head(pooled)

    ids = keras.Input(shape=(seq_len,), dtype="int64", name="input")
    return keras.Model(ids, Encoder()(ids))
