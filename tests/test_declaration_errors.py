"""Every bad static argument is a graphc error when declared: one row per op (or layer, optimizer,
schedule) and bad argument, with the exception class and a regex of its message. Every row also
checks that the message leads with this file's line (the row's lambda) and ends with a fix.
"""
import re

import numpy as np
import pytest

import graphc as gc

HERE = re.escape(__file__)
NAN = float("nan")
S, D, A = gc.ShapeError, gc.DTypeError, gc.ArgumentError

x = gc.placeholder((2, 3), name="x")
free = gc.placeholder((None, 3), name="free")
ids = gc.placeholder((2,), "int64", name="ids")
img = gc.placeholder((2, 3, 4, 4), name="img")
seq = gc.placeholder((2, 3, 8), name="seq")
w2 = gc.parameter(np.zeros((5, 3, 3, 3), "float32"), name="w2")
w1 = gc.parameter(np.zeros((5, 3, 3), "float32"), name="w1")
key = gc.parameter(np.array([0, 0], "int64"), name="key")
p = gc.parameter(np.zeros(3, "float32"), name="p")

ROWS = [
    # -- shape ops ---------------------------------------------------------------------------------
    ("reshape-negative", lambda: gc.reshape(x, (-2, -3)), S, r"reshape: the shape \(-2, -3\) has the bad dim -2"),
    ("reshape-negative-one-of", lambda: gc.reshape(x, (3, -2)), S, r"reshape: .* bad dim -2"),
    ("reshape-two-minus-one", lambda: gc.reshape(x, (-1, -1)), S, r"reshape: .* more than one -1"),
    ("reshape-none", lambda: gc.reshape(x, (None, 3)), S, r"reshape: the shape \(None, 3\) holds None"),
    ("reshape-float", lambda: gc.reshape(x, (2.5, 3)), S, r"reshape: .* bad dim 2.5"),
    ("reshape-whole-float", lambda: gc.reshape(x, (2, 3.0)), S, r"reshape: .* bad dim 3.0"),
    ("reshape-bool", lambda: gc.reshape(x, (True, 6)), S, r"reshape: .* bad dim True"),
    ("reshape-str", lambda: gc.reshape(x, "ab"), S, r"reshape: the shape must be an int or a sequence"),
    ("reshape-size", lambda: gc.reshape(x, (4, 2)), S, r"reshape: cannot reshape float32\[2, 3\]"),
    ("reshape-method-none", lambda: x.reshape(2, None), S, r"reshape: .* holds None"),
    ("expand_dims-range", lambda: gc.expand_dims(x, 5), S,
     r"expand_dims: axis 5 is out of range for a result of rank 3"),
    ("expand_dims-float", lambda: gc.expand_dims(x, 1.5), S, r"expand_dims: axis must be an int, got 1.5"),
    ("expand_dims-repeat", lambda: gc.expand_dims(x, (0, 0)), S, r"expand_dims: axes \(0, 0\) name axis 0 twice"),
    ("squeeze-range", lambda: gc.squeeze(x, 5), S, r"squeeze: axis 5 is out of range"),
    ("squeeze-float", lambda: gc.squeeze(x, 0.0), S, r"squeeze: axis must be an int, got 0.0"),
    ("squeeze-not-one", lambda: gc.squeeze(x, 0), S, r"squeeze: axes \[0\] of float32\[2, 3\] do not have size 1"),
    ("transpose-range", lambda: gc.transpose(x, (0, 5)), S,
     r"transpose: axis 5 is out of range for a tensor of rank 2"),
    ("transpose-float", lambda: gc.transpose(x, (1, 0.0)), S, r"transpose: axis must be an int, got 0.0"),
    ("transpose-repeat", lambda: gc.transpose(x, (0, 0)), S, r"transpose: \(0, 0\) is not a permutation"),
    ("transpose-short", lambda: gc.transpose(x, (0,)), S, r"transpose: \(0,\) is not a permutation"),
    ("transpose-method-range", lambda: x.transpose(1, 2), S, r"transpose: axis 2 is out of range"),
    ("swapaxes-range", lambda: gc.swapaxes(x, 0, 9), S, r"swapaxes: axis 9 is out of range for a tensor of rank 2"),
    ("swapaxes-float", lambda: gc.swapaxes(x, 0, 1.5), S, r"swapaxes: axis must be an int, got 1.5"),
    ("broadcast_to-negative", lambda: gc.broadcast_to(x, (-1, 3)), S, r"broadcast_to: .* bad dim -1"),
    ("broadcast_to-none", lambda: gc.broadcast_to(x, (None, 3)), S, r"broadcast_to: .* holds None"),
    ("broadcast_to-float", lambda: gc.broadcast_to(x, (2.5, 3)), S, r"broadcast_to: .* bad dim 2.5"),
    ("broadcast_to-misfit", lambda: gc.broadcast_to(x, (4, 3)), S, r"broadcast_to: cannot broadcast float32\[2, 3\]"),
    ("concatenate-range", lambda: gc.concatenate([x, x], 5), S, r"concatenate: axis 5 is out of range"),
    ("concatenate-float", lambda: gc.concatenate([x, x], 1.5), S, r"concatenate: axis must be an int"),
    ("concatenate-empty", lambda: gc.concatenate([]), S, r"concatenate: needs at least one tensor"),
    ("stack-range", lambda: gc.stack([x, x], 5), S, r"stack: axis 5 is out of range for a result of rank 3"),
    ("stack-float", lambda: gc.stack([x, x], 1.5), S, r"stack: axis must be an int"),
    ("stack-empty", lambda: gc.stack([]), S, r"stack: needs at least one tensor"),
    ("stack-shapes", lambda: gc.stack([x, x[:1]]), S, r"stack: all tensors need one shape"),
    ("flatten-range", lambda: gc.flatten(x, 5), S, r"flatten: axis 5 is out of range"),
    ("flatten-negative-range", lambda: gc.flatten(x, -5), S, r"flatten: axis -5 is out of range"),
    ("flatten-float", lambda: gc.flatten(x, 1.5), S, r"flatten: axis must be an int"),
    # -- indexing ----------------------------------------------------------------------------------
    ("getitem-float", lambda: x[1.5], S, r"indexing: unsupported index 1.5"),
    ("getitem-range", lambda: x[5], S, r"indexing: index 5 is out of bounds for axis 0"),
    ("getitem-step-zero", lambda: x[::0], S, r"indexing: slice step cannot be zero"),
    ("getitem-too-many", lambda: x[0, 0, 0], S, r"indexing: 3 indices for a tensor of rank 2"),
    ("getitem-two-ellipses", lambda: x[..., ...], S, r"indexing: at most one \.\.\."),
    ("take-range", lambda: gc.take(x, ids, 5), S, r"take: axis 5 is out of range"),
    ("take-float-axis", lambda: gc.take(x, ids, 1.5), S, r"take: axis must be an int"),
    ("take-float-indices", lambda: gc.take(x, x), D, r"take: indices must be integers"),
    ("slice_axis-range", lambda: gc.ops.slice_axis(x, 5, 0, 1), S, r"slice_axis: axis 5 is out of range"),
    ("slice_axis-step-zero", lambda: gc.ops.slice_axis(x, 0, 0, 1, 0), S, r"indexing: slice step cannot be zero"),
    ("one_hot-negative", lambda: gc.one_hot(ids, -1), S, r"one_hot: depth .* must be an int >= 1, got -1"),
    ("one_hot-float", lambda: gc.one_hot(ids, 2.5), S, r"one_hot: depth .* got 2.5"),
    ("one_hot-zero", lambda: gc.one_hot(ids, 0), S, r"one_hot: depth .* got 0"),
    ("one_hot-bool", lambda: gc.one_hot(ids, True), S, r"one_hot: depth .* got True"),
    ("one_hot-dtype", lambda: gc.one_hot(ids, 3, "complex64"), D, r"one_hot: unsupported dtype complex64"),
    ("one_hot-float-indices", lambda: gc.one_hot(x, 3), D, r"one_hot: indices must be integers"),
    # -- reductions --------------------------------------------------------------------------------
    ("sum-float", lambda: gc.sum(x, axis=1.5), S, r"sum: axis must be an int, got 1.5"),
    ("sum-range", lambda: gc.sum(x, 5), S, r"sum: axis 5 is out of range for a tensor of rank 2"),
    ("sum-repeat", lambda: gc.sum(x, (0, 0)), S, r"sum: axes \(0, 0\) name axis 0 twice"),
    ("sum-repeat-negative", lambda: gc.sum(x, (1, -1)), S, r"sum: axes \(1, -1\) name axis 1 twice"),
    ("sum-bool", lambda: gc.sum(x, True), S, r"sum: axis must be an int, got True"),
    ("sum-str", lambda: gc.sum(x, "a"), S, r"sum: axis must be an int, got 'a'"),
    ("prod-range", lambda: gc.prod(x, -3), S, r"prod: axis -3 is out of range"),
    ("max-repeat", lambda: gc.max(x, [1, 1]), S, r"max: axes \[1, 1\] name axis 1 twice"),
    ("min-float", lambda: gc.min(x, 0.0), S, r"min: axis must be an int"),
    ("mean-range", lambda: gc.mean(x, 5), S, r"mean: axis 5 is out of range"),
    ("logsumexp-float", lambda: gc.logsumexp(x, 1.5), S, r"logsumexp: axis must be an int"),
    ("scalar-axis", lambda: gc.sum(gc.placeholder(()), 0), S, r"sum: axis 0 is out of range for a tensor of rank 0"),
    ("argmax-tuple", lambda: gc.argmax(x, (0, 1)), S, r"argmax: axis must be one int or None, got \(0, 1\)"),
    ("argmax-float", lambda: gc.argmax(x, 1.5), S, r"argmax: axis must be one int or None, got 1.5"),
    ("argmax-range", lambda: gc.argmax(x, 5), S, r"argmax: axis 5 is out of range"),
    ("argmin-bool", lambda: gc.argmin(x, True), S, r"argmin: axis must be one int or None, got True"),
    ("var-ddof-n", lambda: gc.var(x, 1, ddof=3), S, r"var: ddof=3 leaves no degrees of freedom: .* hold 3 element"),
    ("var-ddof-past-n", lambda: gc.var(x, 1, ddof=4), S, r"var: ddof=4 leaves no degrees of freedom"),
    ("var-ddof-negative", lambda: gc.var(x, ddof=-1), A, r"var: ddof must be a finite number >= 0, got -1"),
    ("var-ddof-nan", lambda: gc.var(x, ddof=NAN), A, r"var: ddof must be a finite number >= 0, got nan"),
    ("var-axis-float", lambda: gc.var(x, 1.5), S, r"var: axis must be an int"),
    ("std-ddof-past-n", lambda: gc.std(x, ddof=7), S, r"std: ddof=7 leaves no degrees of freedom: .* hold 6 element"),
    ("softmax-range", lambda: gc.softmax(x, 5), S, r"softmax: axis 5 is out of range"),
    ("softmax-tuple", lambda: gc.softmax(x, (0, 1)), S, r"softmax: axis must be an int, got \(0, 1\)"),
    ("log_softmax-float", lambda: gc.log_softmax(x, 1.5), S, r"log_softmax: axis must be an int"),
    ("softmax_cross_entropy-range", lambda: gc.softmax_cross_entropy(x, x, 5), S,
     r"softmax_cross_entropy: axis 5 is out of range"),
    # -- convolution and pooling -------------------------------------------------------------------
    ("conv2d-stride-zero", lambda: gc.conv2d(img, w2, stride=0), S, r"conv2d: stride must be an int >= 1 .* got 0"),
    ("conv2d-stride-float", lambda: gc.conv2d(img, w2, stride=1.5), S, r"conv2d: stride .* got 1.5"),
    ("conv2d-stride-bool", lambda: gc.conv2d(img, w2, stride=True), S, r"conv2d: stride .* got True"),
    ("conv2d-stride-triple", lambda: gc.conv2d(img, w2, stride=(1, 1, 1)), S, r"conv2d: stride .* got \(1, 1, 1\)"),
    ("conv2d-padding-negative", lambda: gc.conv2d(img, w2, padding=-1), S, r"conv2d: padding must be an int >= 0"),
    ("conv2d-padding-word", lambda: gc.conv2d(img, w2, padding="full"), S, r"conv2d: padding 'full' is not 'same'"),
    ("conv2d-padding-pairs", lambda: gc.conv2d(img, w2, padding=((1,), (1, 1))), S,
     r"conv2d: padding must be .* \(top, bottom\), got \(1,\)"),
    ("conv2d-padding-same-strided", lambda: gc.conv2d(img, w2, stride=2, padding="same"), S,
     r"conv2d: padding='same' needs stride 1"),
    ("conv2d-dilation-zero", lambda: gc.conv2d(img, w2, dilation=0), S, r"conv2d: dilation must be an int >= 1"),
    ("conv2d-groups-zero", lambda: gc.conv2d(img, w2, groups=0), S, r"conv2d: groups must be an int >= 1, got 0"),
    ("conv2d-groups-float", lambda: gc.conv2d(img, w2, groups=2.5), S, r"conv2d: groups .* got 2.5"),
    ("conv2d-groups-misfit", lambda: gc.conv2d(img, w2, groups=3), S, r"conv2d: .* do not fit groups=3"),
    ("conv2d-weight-rank", lambda: gc.conv2d(img, w1), S, r"conv2d: the weight must be 4-D"),
    ("conv1d-stride-zero", lambda: gc.conv1d(seq, w1, stride=0), S, r"conv1d: stride must be an int >= 1, got 0"),
    ("conv1d-stride-float", lambda: gc.conv1d(seq, w1, stride=1.5), S, r"conv1d: stride .* got 1.5"),
    ("conv1d-stride-pair", lambda: gc.conv1d(seq, w1, stride=(1, 1)), S, r"conv1d: stride .* got \(1, 1\)"),
    ("conv1d-padding-negative", lambda: gc.conv1d(seq, w1, padding=-1), S,
     r"conv1d: padding must be an int >= 0 or a pair of them \(left, right\)"),
    ("conv1d-padding-word", lambda: gc.conv1d(seq, w1, padding="full"), S, r"conv1d: padding 'full' is not"),
    ("conv1d-dilation-zero", lambda: gc.conv1d(seq, w1, dilation=0), S, r"conv1d: dilation must be an int >= 1"),
    ("conv1d-groups-zero", lambda: gc.conv1d(seq, w1, groups=0), S, r"conv1d: groups must be an int >= 1"),
    ("max_pool2d-zero", lambda: gc.max_pool2d(img, 0), S, r"max_pool2d: kernel_size must be an int >= 1"),
    ("max_pool2d-negative", lambda: gc.max_pool2d(img, -1), S, r"max_pool2d: kernel_size .* got -1"),
    ("max_pool2d-float", lambda: gc.max_pool2d(img, 1.5), S, r"max_pool2d: kernel_size .* got 1.5"),
    ("max_pool2d-stride-zero", lambda: gc.max_pool2d(img, 2, 0), S, r"max_pool2d: stride must be an int >= 1"),
    ("avg_pool2d-zero", lambda: gc.avg_pool2d(img, 0), S, r"avg_pool2d: kernel_size must be an int >= 1"),
    ("avg_pool2d-ceil-mode", lambda: gc.avg_pool2d(img, 2, ceil_mode="yes"), S,
     r"avg_pool2d: ceil_mode must be True or False, got 'yes'"),
    ("max_pool3d-rank", lambda: gc.max_pool3d(img, 2), S, r"max_pool3d: needs 5-D NCDHW"),
    ("conv3d-padding-pairs", lambda: gc.conv3d(gc.placeholder((1, 2, 4, 4, 4)), gc.placeholder((3, 2, 1, 1, 1)),
                                                padding=((1, 1), (1, 1), (2,))), S,
     r"conv3d: padding must be a pair of ints >= 0 per axis, here \(left, right\), got \(2,\)"),
    ("conv_transpose2d-output-padding", lambda: gc.conv_transpose2d(img, gc.placeholder((3, 2, 3, 3)), stride=2,
                                                                                 output_padding=2), S,
     r"conv_transpose2d: output_padding \(2, 2\) must be smaller than the stride"),
    ("col2im-misfit", lambda: gc.col2im(gc.placeholder((1, 8, 5)), (3, 3), 2), S,
     r"col2im: columns .* do not fit images \(3, 3\)"),
    ("global_avg_pool2d-rank", lambda: gc.global_avg_pool2d(x), S, r"global_avg_pool2d: needs 4-D NCHW"),
    # -- random numbers ----------------------------------------------------------------------------
    ("random_uniform-negative", lambda: gc.random_uniform(key, (-1,)), S, r"random_uniform: .* bad dim -1"),
    ("random_uniform-float", lambda: gc.random_uniform(key, (1.5,)), S, r"random_uniform: .* bad dim 1.5"),
    ("random_uniform-bool", lambda: gc.random_uniform(key, (True,)), S, r"random_uniform: .* bad dim True"),
    ("random_uniform-none", lambda: gc.random_uniform(key, (None,)), S, r"random_uniform: .* holds None"),
    ("random_uniform-dtype", lambda: gc.random_uniform(key, (2,), "int32"), D, r"random_uniform: dtype must be float"),
    ("random_uniform-stream-negative", lambda: gc.random_uniform(key, (2,), stream=-1), S,
     r"random_uniform: stream must be an int >= 0, got -1"),
    ("random_uniform-stream-float", lambda: gc.random_uniform(key, (2,), stream=1.5), S,
     r"random_uniform: stream .* got 1.5"),
    ("random_uniform-stream-wide", lambda: gc.random_uniform(key, (2,), stream=2 ** 32), S,
     r"random_uniform: stream 4294967296 must fit in 32 bits"),
    # -- casts and leaves --------------------------------------------------------------------------
    ("cast-complex64", lambda: gc.cast(x, "complex64"), D, r"cast: unsupported dtype complex64"),
    ("cast-unknown", lambda: gc.cast(x, "float33"), D, r"cast: unsupported dtype 'float33'"),
    ("placeholder-negative", lambda: gc.placeholder((-1,)), S, r"placeholder: shape \(-1,\) has the bad dimension -1"),
    ("placeholder-float", lambda: gc.placeholder((1.5,)), S, r"placeholder: .* bad dimension 1.5"),
    ("placeholder-dtype", lambda: gc.placeholder((1,), "complex64"), D, r"placeholder: unsupported dtype complex64"),
    ("parameter-complex", lambda: gc.parameter(np.zeros(3, complex)), D, r"parameter: unsupported dtype complex128"),
    ("parameter-complex-scalar", lambda: gc.parameter(1 + 2j), D, r"parameter: unsupported dtype complex128"),
    ("parameter-string", lambda: gc.parameter("abc"), D, r"parameter: unsupported dtype str"),
    ("parameter-strings", lambda: gc.parameter(["a", "b"], name="w"), D, r"parameter 'w': unsupported dtype str"),
    ("parameter-bytes", lambda: gc.parameter(b"ab"), D, r"parameter: unsupported dtype bytes"),
    ("parameter-object", lambda: gc.parameter(np.array([object()])), D, r"parameter: unsupported dtype object"),
    ("parameter-ragged", lambda: gc.parameter([[1, 2], [3]]), S, r"parameter: the value is ragged"),
    ("parameter-ragged-dtype", lambda: gc.parameter([[1, 2], [3]], dtype="float32"), S, r"parameter: .* ragged"),
    ("parameter-text-as-float", lambda: gc.parameter("abc", dtype="float32"), D,
     r"parameter: cannot convert the value to an array"),
    ("parameter-symbolic", lambda: gc.parameter(x), D,
     r"parameter: the value is a symbolic tensor \(float32\[2, 3\]\)"),
    ("constant-ragged", lambda: gc.constant([[1, 2], [3]]), S, r"constant: the value is ragged"),
    ("constant-string", lambda: gc.constant("a"), D, r"constant: unsupported dtype str"),
    # -- gc.function -------------------------------------------------------------------------------
    ("function-level", lambda: gc.function([x], x, optimize="O9"), A,
     r"function: unknown optimization level optimize='O9'"),
    ("function-level-int", lambda: gc.function([x], x, optimize=7), A, r"function: unknown optimization level"),
    ("function-same-name",
     lambda: gc.function([gc.placeholder((), name="a"), gc.placeholder((), name="a")], p), gc.InputError,
     r"function: two inputs are named 'a' \(declared at .*test_declaration_errors.py:\d+"),
    ("function-listed-twice", lambda: gc.function([x, x], x), gc.InputError, r"function: input .* is listed twice"),
    # -- gc.nn layers ------------------------------------------------------------------------------
    ("Dense-zero", lambda: gc.nn.Dense(0, 3), S, r"Dense: in_features must be an int >= 1, got 0"),
    ("Dense-negative", lambda: gc.nn.Dense(3, -1), S, r"Dense: out_features .* got -1"),
    ("Dense-float", lambda: gc.nn.Dense(2.5, 3), S, r"Dense: in_features .* got 2.5"),
    ("Dense-bool", lambda: gc.nn.Dense(True, 3), S, r"Dense: in_features .* got True"),
    ("Dense-int-dtype", lambda: gc.nn.Dense(3, 3, dtype="int32"), D,
     r"Dense: parameters need a float dtype, got int32"),
    ("Dense-activation", lambda: gc.nn.Dense(3, 3, "bogus"), gc.GraphcError, r"nn: unknown activation 'bogus'"),
    ("MLP-zero", lambda: gc.nn.MLP([3, 0]), S, r"MLP: sizes\[1\] must be an int >= 1, got 0"),
    ("MLP-one-size", lambda: gc.nn.MLP([3]), gc.GraphcError, r"MLP: needs at least an input and an output size"),
    ("Dropout-nan", lambda: gc.nn.Dropout(NAN), A, r"Dropout: p must be a finite number >= 0 and < 1, got nan"),
    ("Dropout-one", lambda: gc.nn.Dropout(1.0), A, r"Dropout: p .* got 1.0"),
    ("Dropout-str", lambda: gc.nn.Dropout("0.5"), A, r"Dropout: p .* got '0.5'"),
    ("Dropout-seed", lambda: gc.nn.Dropout(0.5, seed=-1), S, r"Dropout: seed must be an int >= 0, got -1"),
    ("Dropout-seed-wide", lambda: gc.nn.Dropout(0.5, seed=2 ** 64), S, r"Dropout: seed .* does not fit in int64"),
    ("Conv2d-channels", lambda: gc.nn.Conv2d(0, 3, 3), S, r"Conv2d: in_channels must be an int >= 1, got 0"),
    ("Conv2d-kernel-zero", lambda: gc.nn.Conv2d(3, 3, 0), S, r"Conv2d: kernel_size must be an int >= 1 .* got 0"),
    ("Conv2d-kernel-float", lambda: gc.nn.Conv2d(3, 3, 1.5), S, r"Conv2d: kernel_size .* got 1.5"),
    ("Conv2d-kernel-triple", lambda: gc.nn.Conv2d(3, 3, (1, 2, 3)), S, r"Conv2d: kernel_size .* got \(1, 2, 3\)"),
    ("Conv2d-groups", lambda: gc.nn.Conv2d(3, 3, 3, groups=0), S, r"Conv2d: groups must be an int >= 1, got 0"),
    ("Conv2d-groups-misfit", lambda: gc.nn.Conv2d(3, 4, 3, groups=2), S,
     r"Conv2d: .* must both be divisible by groups"),
    ("Conv2d-stride", lambda: gc.nn.Conv2d(3, 3, 3, stride=0), S, r"Conv2d: stride must be an int >= 1"),
    ("Conv2d-padding", lambda: gc.nn.Conv2d(3, 3, 3, padding="full"), S, r"Conv2d: padding 'full' is not"),
    ("Conv2d-dtype", lambda: gc.nn.Conv2d(3, 3, 3, dtype="int64"), D, r"Conv2d: parameters need a float dtype"),
    ("Conv1d-kernel-zero", lambda: gc.nn.Conv1d(3, 3, 0), S, r"Conv1d: kernel_size must be an int >= 1, got 0"),
    ("Conv1d-kernel-pair", lambda: gc.nn.Conv1d(3, 3, (2, 2)), S, r"Conv1d: kernel_size .* got \(2, 2\)"),
    ("Conv1d-stride-pair", lambda: gc.nn.Conv1d(3, 3, 2, stride=(1, 1)), S, r"Conv1d: stride .* got \(1, 1\)"),
    ("MaxPool2d-zero", lambda: gc.nn.MaxPool2d(0), S, r"MaxPool2d: kernel_size must be an int >= 1"),
    ("AvgPool2d-float", lambda: gc.nn.AvgPool2d(1.5), S, r"AvgPool2d: kernel_size .* got 1.5"),
    ("Embedding-zero", lambda: gc.nn.Embedding(0, 3), S, r"Embedding: num_embeddings must be an int >= 1, got 0"),
    ("Embedding-negative", lambda: gc.nn.Embedding(3, -1), S, r"Embedding: embedding_dim .* got -1"),
    ("Embedding-float", lambda: gc.nn.Embedding(2.5, 3), S, r"Embedding: num_embeddings .* got 2.5"),
    ("BatchNorm-zero", lambda: gc.nn.BatchNorm(0), S, r"BatchNorm: num_features must be an int >= 1, got 0"),
    ("BatchNorm-float", lambda: gc.nn.BatchNorm(2.5), S, r"BatchNorm: num_features .* got 2.5"),
    ("BatchNorm-eps-zero", lambda: gc.nn.BatchNorm(3, eps=0), A, r"BatchNorm: eps must be a finite number > 0, got 0"),
    ("BatchNorm-eps-negative", lambda: gc.nn.BatchNorm(3, eps=-1e-5), A, r"BatchNorm: eps .* got -1e-05"),
    ("BatchNorm-momentum", lambda: gc.nn.BatchNorm(3, momentum=2), A,
     r"BatchNorm: momentum must be a finite number >= 0 and <= 1, got 2"),
    ("BatchNorm-momentum-nan", lambda: gc.nn.BatchNorm(3, momentum=NAN), A, r"BatchNorm: momentum .* got nan"),
    ("LayerNorm-zero", lambda: gc.nn.LayerNorm(0), S, r"LayerNorm: normalized_shape must be an int >= 1, got 0"),
    ("LayerNorm-negative", lambda: gc.nn.LayerNorm((3, -1)), S, r"LayerNorm: normalized_shape .* got -1"),
    ("LayerNorm-float", lambda: gc.nn.LayerNorm(2.5), S, r"LayerNorm: normalized_shape .* got 2.5"),
    ("LayerNorm-eps", lambda: gc.nn.LayerNorm(3, eps=-1), A, r"LayerNorm: eps must be a finite number > 0"),
    ("layer_norm-ndim-zero", lambda: gc.nn.layer_norm(x, 0), S, r"layer_norm: ndim must be an int >= 1, got 0"),
    ("layer_norm-ndim-rank", lambda: gc.nn.layer_norm(x, 5), S, r"layer_norm: ndim=5 is more than the 2 axes"),
    ("MultiheadAttention-heads-zero", lambda: gc.nn.MultiheadAttention(8, 0), S,
     r"MultiheadAttention: num_heads must be an int >= 1, got 0"),
    ("MultiheadAttention-embed-zero", lambda: gc.nn.MultiheadAttention(0, 1), S,
     r"MultiheadAttention: embed_dim .* got 0"),
    ("MultiheadAttention-heads-float", lambda: gc.nn.MultiheadAttention(8, 2.5), S,
     r"MultiheadAttention: num_heads .* 2.5"),
    ("MultiheadAttention-misfit", lambda: gc.nn.MultiheadAttention(8, 3), S,
     r"embed_dim=8 is not divisible by num_heads=3"),
    ("TransformerEncoderLayer-ff", lambda: gc.nn.TransformerEncoderLayer(8, 2, 0), S,
     r"TransformerEncoderLayer: dim_feedforward must be an int >= 1, got 0"),
    ("RNN-zero", lambda: gc.nn.RNN(0, 3), S, r"RNNCell: input_size must be an int >= 1, got 0"),
    ("LSTM-hidden-zero", lambda: gc.nn.LSTM(3, 0), S, r"LSTMCell: hidden_size .* got 0"),
    ("GRU-float", lambda: gc.nn.GRU(3, 2.5), S, r"GRUCell: hidden_size .* got 2.5"),
    ("LSTMCell-negative", lambda: gc.nn.LSTMCell(-1, 3), S, r"LSTMCell: input_size .* got -1"),
    ("RNNCell-dtype", lambda: gc.nn.RNNCell(3, 3, dtype="bool"), D,
     r"RNNCell: parameters need a float dtype, got bool"),
    ("l2_penalty-negative", lambda: gc.nn.l2_penalty([p], -1.0), A, r"l2_penalty: weight must be a finite number >= 0"),
    ("l1_penalty-nan", lambda: gc.nn.l1_penalty([p], NAN), A, r"l1_penalty: weight .* got nan"),
    ("gelu-approximate", lambda: gc.nn.gelu(p, "fast"), gc.GraphcError, r"gelu: approximate must be 'none' or 'tanh'"),
    # -- gc.optim ----------------------------------------------------------------------------------
    ("SGD-lr-nan", lambda: gc.optim.SGD([p], lr=NAN), A, r"SGD: lr must be a finite number >= 0, got nan"),
    ("SGD-lr-negative", lambda: gc.optim.SGD([p], lr=-0.1), A, r"SGD: lr .* got -0.1"),
    ("SGD-lr-inf", lambda: gc.optim.SGD([p], lr=float("inf")), A, r"SGD: lr .* got inf"),
    ("SGD-lr-str", lambda: gc.optim.SGD([p], lr="0.1"), A, r"SGD: lr .* got '0.1'"),
    ("SGD-momentum", lambda: gc.optim.SGD([p], momentum=-0.9), A, r"SGD: momentum must be a finite number >= 0"),
    ("Momentum-momentum-nan", lambda: gc.optim.Momentum([p], momentum=NAN), A, r"Momentum: momentum .* got nan"),
    ("SGD-weight_decay", lambda: gc.optim.SGD([p], weight_decay=-1e-4), A,
     r"SGD: weight_decay must be a finite number >= 0"),
    ("SGD-weight_decay-nan", lambda: gc.optim.SGD([p], weight_decay=NAN), A, r"SGD: weight_decay .* got nan"),
    ("SGD-l1", lambda: gc.optim.SGD([p], l1=-1), A, r"SGD: l1 must be a finite number >= 0"),
    ("SGD-clip_norm-zero", lambda: gc.optim.SGD([p], clip_norm=0), A, r"SGD: clip_norm must be a finite number > 0"),
    ("SGD-nesterov", lambda: gc.optim.SGD([p], nesterov=True), gc.GraphcError,
     r"SGD: nesterov=True needs momentum > 0"),
    ("Adam-beta-one", lambda: gc.optim.Adam([p], betas=(1.0, 0.999)), A,
     r"Adam: betas\[0\] must be a finite number >= 0 and < 1, got 1.0"),
    ("Adam-beta-negative", lambda: gc.optim.Adam([p], betas=(0.9, -0.1)), A, r"Adam: betas\[1\] .* got -0.1"),
    ("Adam-beta-nan", lambda: gc.optim.Adam([p], betas=(NAN, 0.999)), A, r"Adam: betas\[0\] .* got nan"),
    ("Adam-betas-three", lambda: gc.optim.Adam([p], betas=(0.9, 0.9, 0.9)), gc.GraphcError,
     r"Adam: betas must be a pair \(beta1, beta2\)"),
    ("Adam-eps-zero", lambda: gc.optim.Adam([p], eps=0), A, r"Adam: eps must be a finite number > 0, got 0"),
    ("Adam-eps-negative", lambda: gc.optim.Adam([p], eps=-1e-8), A, r"Adam: eps .* got -1e-08"),
    ("AdamW-weight_decay", lambda: gc.optim.AdamW([p], weight_decay=-0.01), A, r"AdamW: weight_decay .* got -0.01"),
    ("RMSProp-rho", lambda: gc.optim.RMSProp([p], rho=1.5), A, r"RMSProp: rho must be a finite number >= 0 and < 1"),
    ("RMSProp-eps", lambda: gc.optim.RMSProp([p], eps=0.0), A, r"RMSProp: eps must be a finite number > 0"),
    ("AdaGrad-eps", lambda: gc.optim.AdaGrad([p], eps=-1), A, r"AdaGrad: eps .* got -1"),
    ("StepDecay-zero", lambda: gc.optim.StepDecay(0), S, r"StepDecay: step_size must be an int >= 1, got 0"),
    ("StepDecay-nan", lambda: gc.optim.StepDecay(NAN), S, r"StepDecay: step_size .* got nan"),
    ("StepDecay-gamma", lambda: gc.optim.StepDecay(2, -1.0), A, r"StepDecay: gamma must be a finite number > 0"),
    ("ExponentialDecay-nan", lambda: gc.optim.ExponentialDecay(NAN), A, r"ExponentialDecay: gamma .* got nan"),
    ("Cosine-zero", lambda: gc.optim.Cosine(0), S, r"Cosine: total_steps must be an int >= 1, got 0"),
    ("Cosine-min_lr", lambda: gc.optim.Cosine(10, -1.0), A, r"Cosine: min_lr must be a finite number >= 0"),
    ("Warmup-zero", lambda: gc.optim.Warmup(0), S, r"Warmup: warmup_steps must be an int >= 1, got 0"),
    ("Warmup-start_factor", lambda: gc.optim.Warmup(10, 1.5), A,
     r"Warmup: start_factor must be a finite number > 0 and <= 1"),
]


@pytest.mark.parametrize("call,error,pattern", [pytest.param(*row[1:], id=row[0]) for row in ROWS])
def test_bad_argument_is_a_graphc_error_at_declaration(call, error, pattern):
    with pytest.raises(gc.GraphcError) as e:
        call()
    assert type(e.value) is error, f"{type(e.value).__name__}: {e.value}"
    first, *rest = str(e.value).splitlines()
    assert re.match(rf"{HERE}:\d+: ", first), first  # the user's line: the row's lambda, here
    what = "\n".join(rest)
    assert re.search(pattern, what), what
    assert rest[-1].strip().startswith("fix: "), what


def test_the_table_covers_every_public_op_with_static_arguments():
    """A new op with an axis, size or shape argument gets its rows here (elementwise ops take none)."""
    static = {"reshape", "expand_dims", "squeeze", "transpose", "swapaxes", "broadcast_to", "concatenate", "stack",
              "flatten", "getitem", "take", "slice_axis", "one_hot", "sum", "prod", "max", "min", "mean", "logsumexp",
              "argmax", "argmin", "var", "std", "softmax", "log_softmax", "softmax_cross_entropy", "conv2d", "conv1d",
              "max_pool2d", "avg_pool2d", "global_avg_pool2d", "random_uniform", "cast"}
    covered = {row[0].split("-")[0] for row in ROWS}
    assert static <= covered, static - covered
    assert static <= set(gc.ops.__all__)


def test_valid_arguments_still_declare():
    """The checks refuse only what was wrong: NumPy ints, negative axes, one -1, tuples of axes, 'same'."""
    assert gc.reshape(x, (np.int64(3), -1)).shape == (3, 2)
    assert gc.reshape(free, (-1,)).shape == (None,)
    assert gc.sum(x, (np.int32(0), -1)).shape == ()
    assert gc.transpose(x, (-1, 0)).shape == (3, 2) and x.transpose((1, 0)).shape == (3, 2)
    assert gc.swapaxes(x, -1, -2).shape == (3, 2)
    assert gc.expand_dims(x, (0, -1)).shape == (1, 2, 3, 1)
    assert gc.flatten(img, -3).shape == (2, 48)
    assert gc.stack([x, x], -1).shape == (2, 3, 2)
    assert gc.one_hot(ids, np.int64(4)).shape == (2, 4)
    assert gc.var(x, 1, ddof=2).shape == (2,) and gc.var(x, ddof=0.5).shape == ()
    assert gc.conv1d(seq, w1, padding="same").shape == (2, 5, 8)
    assert gc.conv2d(img, w2, padding=((1, 1), (0, 0))).shape == (2, 5, 4, 2)
    assert gc.random_uniform(key, np.int64(3)).shape == (3,)
    assert gc.nn.Conv1d(3, 5, (3,)).weight.shape == (5, 3, 3)
    assert gc.nn.LayerNorm((2, 3)).shape == (2, 3)
    assert gc.optim.SGD([p], lr=0).lr == 0.0  # a zero rate is allowed, as in torch
    assert gc.optim.Adam([p], betas=[0.0, 0.5]).beta1 == 0.0
    a, b = gc.placeholder((), name="a"), gc.placeholder(())
    assert gc.function([a, b, gc.placeholder(())], a + b, optimize=1).optimize == 1  # unnamed inputs may repeat


@pytest.mark.filterwarnings("ignore:Degrees of freedom")
def test_var_with_free_dims_never_goes_negative():
    """Over a free dim ddof > n is only known at run time: the divisor stops at 0 as in NumPy (inf, not
    a negative variance)."""
    v = gc.var(free, axis=0, ddof=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        got = gc.function([free], v)(np.array([[1, 2, 3], [3, 2, 5]], np.float32))
        want = np.var(np.array([[1, 2, 3], [3, 2, 5]], np.float32), axis=0, ddof=3)
    np.testing.assert_array_equal(got, want)
    assert np.isposinf(got[0]) and np.isnan(got[1])

