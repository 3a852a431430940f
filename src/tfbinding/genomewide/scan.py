"""Chromosome-wide scan of an ``improved``-type model: the convolutional trunk runs once
along the chromosome (per chunk, both strands) and each window is read out of it.

Why it equals per-window scoring
--------------------------------
Window ``i``'s input row is ``P[r, r + L)`` with ``r = start - flank`` (bases outside the
chromosome are all-zero rows, as :func:`tfbinding.data.encoding.encode_windows` makes them).

* ``Conv1D(padding="valid")`` on the row is the chromosome-wide valid convolution read at
  ``r + j``. BatchNorm in inference mode is a per-channel affine map, folded into the
  convolution's kernel and bias.
* ``MaxPooling1D(p)`` pools pairs aligned to the row start. Write ``D`` for the product of
  the pool sizes (4 for ``improved``). Per *phase* ``ph`` (``r mod D`` in chunk coordinates)
  the trunk is run on pools aligned to ``ph``; its output index ``k`` stands for input
  position ``ph + D*k``, so window ``r`` reads indices ``(r - ph)/D + v``, ``v < n_final``.
  The pooling tree is shared: conv1 runs once at full resolution, conv2 once per needed
  first-level phase, conv3 once per needed phase. Windows on a regular grid of even stride
  (50, 10) from an even offset need 2 of the 4 phases per strand.
* ReLU commutes with max pooling (it is monotone), so ReLU(BN(conv)) -> pool is exact.
* ``GlobalMaxPooling1D`` over the row is a sliding maximum of width ``n_final`` over the
  phase's output: a doubling (sparse-table) maximum, read at each window's first index.
* Dropout is the identity at inference; the Dense head runs per window on the pooled
  features.
* Reverse-complement averaging: the reverse strand of the chunk ``[c0, c1)`` is
  ``Q = rc(P[c0:c1])``; window ``r``'s reverse-complemented row is ``Q[c1 - r - L, c1 - r)``,
  i.e. an ordinary row of ``Q``. Signal channels (after A, C, G, T) are reversed along
  the length only, as :func:`tfbinding.models.inference.reverse_complement` does.
* The ``MotifScan`` branch (best log-odds match on either strand over the whole row,
  float64, rounded to 1e-4) is a valid float64 convolution with the matrix and its reverse
  complement, a maximum over both, and a sliding maximum of width ``L - k + 1``. It is
  strand-symmetric, so one pass serves both strands.

With ``padding="same"`` convolutions the window's edge positions see zeros per window but
real bases chromosome-wide, so the scan is *not* exact for those models; the same code reads
the ``same`` model's ``n_final`` positions at the right offset (``exact = False``) and the
difference is measured, not bounded a priori.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from tfbinding.models.motif_baseline import SCAN_SCALE


class ScanUnsupported(ValueError):
    """The model's layers are not ones the scan knows: score it per window."""


@dataclass
class ScanPlan:
    """What the scan needs from a trained model, read from its layers."""

    row_length: int
    channels: int
    kernels: list[np.ndarray] = field(default_factory=list)   # (k, cin, cout), BN folded in
    biases: list[np.ndarray] = field(default_factory=list)
    pads: list[int] = field(default_factory=list)             # left zero padding per conv
    pools: list[int] = field(default_factory=list)            # pool size after each conv (1: none)
    head: list[tuple[np.ndarray, np.ndarray, str]] = field(default_factory=list)
    motif: tuple[np.ndarray, float, float] | None = None      # (pwm, a, b) of a*scan + b
    final_positions: int = 0     # positions the global max runs over, per row
    offset: int = 0              # row position of final index 0, minus its input position
    receptive_field: int = 0     # input bases behind one final position
    decimation: int = 1          # product of pool sizes
    exact: bool = True           # False when a convolution pads ("same")
    tasks: int = 1

    @property
    def margin(self) -> int:
        """Bases needed beyond a row on each side (the 'same' model's edge positions)."""
        right = self.decimation * (self.final_positions - 1) + self.receptive_field - self.offset - self.row_length
        return max(self.offset, right, 0)

    def flops_per_position(self, phases_per_level: list[int] | None = None) -> float:
        """Multiply-adds x 2 per input base of the trunk for one strand, given how many of
        the phases of each level are computed (default: one per level, i.e. a per-window
        like resolution, rarely used).
        """
        total, step = 0.0, 1
        count = 1
        for index, (kernel, pool) in enumerate(zip(self.kernels, self.pools)):
            if phases_per_level is not None and index:
                count = phases_per_level[index - 1]
            k, cin, cout = kernel.shape
            total += 2.0 * k * cin * cout * count / step
            step *= pool
        return total


def _relu_after(layers, index) -> bool:
    layer = layers[index] if index < len(layers) else None
    if isinstance(layer, keras.layers.Activation):
        return getattr(layer.activation, "__name__", "") == "relu"
    return isinstance(layer, keras.layers.ReLU) and not layer.get_config().get("max_value")


def plan_from_model(model) -> ScanPlan:
    """Read the trunk (Conv1D -> BatchNorm -> ReLU -> [MaxPooling1D]) x N, GlobalMaxPooling1D,
    Dropout, Dense head and the optional MotifScan branch from a Keras model.

    Raises
    ------
    ScanUnsupported
        For any other layer arrangement (e.g. the study models' Flatten -> Dense head).
    """
    inputs = model.inputs[0]
    plan = ScanPlan(row_length=int(inputs.shape[1]), channels=int(inputs.shape[-1]))
    by_name = {layer.name: layer for layer in model.layers}
    branch = ("motif_scan", "motif_logit", "probability")   # the motif branch and the output
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)
              and layer.name not in branch and not (layer.name == "logit" and isinstance(layer, keras.layers.Add))]
    index = 0
    while index < len(layers) and isinstance(layers[index], keras.layers.Conv1D):
        conv = layers[index]
        cfg = conv.get_config()
        if cfg["strides"] not in (1, (1,), [1]) or cfg["dilation_rate"] not in (1, (1,), [1]) \
                or cfg["padding"] not in ("same", "valid") or cfg.get("groups", 1) != 1 \
                or cfg["activation"] != "linear" or cfg.get("data_format", "channels_last") != "channels_last":
            raise ScanUnsupported(f"{conv.name}: only stride-1, undilated, linear Conv1D layers scan")
        kernel = np.asarray(conv.kernel, dtype=np.float64)
        bias = np.asarray(conv.bias, dtype=np.float64) if conv.use_bias else np.zeros(kernel.shape[-1])
        index += 1
        if index < len(layers) and isinstance(layers[index], keras.layers.BatchNormalization):
            norm = layers[index]
            if norm.axis not in (-1, 2, [-1], [2]):
                raise ScanUnsupported(f"{norm.name}: BatchNormalization over another axis")
            gamma = np.asarray(norm.gamma, np.float64) if norm.scale else 1.0
            beta = np.asarray(norm.beta, np.float64) if norm.center else 0.0
            scale = gamma / np.sqrt(np.asarray(norm.moving_variance, np.float64) + norm.epsilon)
            kernel = kernel * scale
            bias = (bias - np.asarray(norm.moving_mean, np.float64)) * scale + beta
            index += 1
        if not _relu_after(layers, index):
            raise ScanUnsupported(f"{conv.name}: the scan needs a ReLU after each block")
        index += 1
        pool = 1
        if index < len(layers) and isinstance(layers[index], keras.layers.MaxPooling1D):
            pcfg = layers[index].get_config()
            size = pcfg["pool_size"][0] if isinstance(pcfg["pool_size"], (list, tuple)) else pcfg["pool_size"]
            stride = pcfg["strides"][0] if isinstance(pcfg["strides"], (list, tuple)) else pcfg["strides"]
            if stride != size or pcfg["padding"] != "valid":
                raise ScanUnsupported(f"{layers[index].name}: only non-overlapping valid max pooling scans")
            pool = int(size)
            index += 1
        k = kernel.shape[0]
        plan.kernels.append(kernel.astype(np.float32))
        plan.biases.append(bias.astype(np.float32))
        plan.pads.append((k - 1) // 2 if cfg["padding"] == "same" else 0)
        plan.pools.append(pool)
    if not plan.kernels or index >= len(layers) or not isinstance(layers[index], keras.layers.GlobalMaxPooling1D):
        raise ScanUnsupported("the scan needs Conv1D blocks followed by GlobalMaxPooling1D "
                              "(a Flatten -> Dense head scores per window)")
    index += 1
    # the head: Dropout (identity), Dense layers on the CNN path, the optional motif branch
    for layer in layers[index:]:
        if isinstance(layer, keras.layers.Dropout):
            continue
        if isinstance(layer, keras.layers.Dense):
            act = layer.get_config()["activation"]
            if act not in ("relu", "linear", "sigmoid"):
                raise ScanUnsupported(f"{layer.name}: activation {act}")
            plan.head.append((np.asarray(layer.kernel, np.float32), np.asarray(layer.bias, np.float32), act))
            continue
        raise ScanUnsupported(f"{layer.name}: a layer the scan does not know ({type(layer).__name__})")
    if not plan.head:
        raise ScanUnsupported("no Dense head")
    out_act = by_name.get("probability")
    if "motif_scan" in by_name:
        motif_dense = by_name["motif_logit"]
        plan.motif = (np.asarray(by_name["motif_scan"].pwm, np.float64),
                      float(np.asarray(motif_dense.kernel).ravel()[0]), float(np.asarray(motif_dense.bias).ravel()[0]))
    if plan.head[-1][2] == "sigmoid":          # a Dense(sigmoid) output: keep the logit
        W, b, _ = plan.head[-1]
        plan.head[-1] = (W, b, "linear")
    elif out_act is None or getattr(out_act, "activation", None) is None:
        raise ScanUnsupported("the model's output is no sigmoid")
    plan.tasks = int(plan.head[-1][0].shape[1])
    # geometry: lengths per row, offset of final index 0, receptive field
    length, step, rf = plan.row_length, 1, 1
    plan.exact = not any(plan.pads)
    for kernel, pad, pool in zip(plan.kernels, plan.pads, plan.pools):
        k = kernel.shape[0]
        length = length if pad else length - k + 1
        plan.offset += pad * step
        rf += (k - 1) * step + (pool - 1) * step
        length //= pool
        step *= pool
    plan.final_positions, plan.receptive_field, plan.decimation = length, rf, step
    if length < 1:
        raise ScanUnsupported("the row is shorter than the receptive field")
    return plan


def _window_max(h, first, width):
    """``max(h[first[i] : first[i] + width])`` per window: doubling maxima, then two gathers."""
    span = 1
    while span * 2 <= width:
        h = tf.maximum(h[:-span], h[span:])
        span *= 2
    return tf.maximum(tf.gather(h, first), tf.gather(h, first + (width - span)))


#: ASCII byte -> base index: A, C, G, T (any case) 0..3, anything else (N, IUPAC) 4
BASE_INDEX = np.full(256, 4, dtype=np.uint8)
for _channel, _base in enumerate(b"ACGT"):
    BASE_INDEX[_base] = BASE_INDEX[_base + 32] = _channel
#: base index -> one-hot row (N: all zero)
INDEX_ONE_HOT = np.vstack((np.eye(4, dtype=np.float32), np.zeros((1, 4), np.float32)))
#: base index -> its complement's
COMPLEMENT_INDEX = np.array([3, 2, 1, 0, 4], dtype=np.uint8)
LOOKUP_GROUP = 6   # positions per first-layer lookup table (5**6 rows)


def lookup_tables(kernel: np.ndarray, group: int = LOOKUP_GROUP, dtype=np.float32) -> list[tuple[int, np.ndarray]]:
    """The first convolution of one-hot input as table lookups: for each run of ``group``
    kernel positions starting at ``s``, ``T[code] = sum_i kernel[s + i, base_i]`` over the
    base-5 digits of ``code`` (digit 4, N, adds nothing). Summed in float64, stored as ``dtype``.
    """
    k, _, filters = kernel.shape
    padded = np.concatenate((kernel[:, :4].astype(np.float64), np.zeros((k, 1, filters))), axis=1)  # (k, 5, F)
    tables = []
    for first in range(0, k, group):
        width = min(group, k - first)
        digits = (np.arange(5 ** width)[:, None] // 5 ** np.arange(width)) % 5     # (5**w, w)
        table = padded[first + np.arange(width)[None, :], digits].sum(axis=1)     # (5**w, F)
        tables.append((first, table.astype(dtype)))
    return tables


class Scanner:
    """Scores windows of one chromosome with a plan, chunk by chunk.

    ``first_layer="lookup"`` computes the first convolution of the one-hot bases by table
    lookups (XLA-fused with the first pooling); ``"conv"`` runs it as a convolution.
    """

    def __init__(self, model_or_plan, chunk_bp: int = 1 << 17, first_layer: str = "lookup"):
        self.plan = model_or_plan if isinstance(model_or_plan, ScanPlan) else plan_from_model(model_or_plan)
        self.chunk_bp = int(chunk_bp)
        self.first_layer = first_layer
        p = self.plan
        self._kernels = [tf.constant(k) for k in p.kernels]
        self._biases = [tf.constant(b) for b in p.biases]
        self._head = [(tf.constant(W), tf.constant(b), a) for W, b, a in p.head]
        self._tables = [(first, tf.constant(t)) for first, t in lookup_tables(p.kernels[0])]
        self._signal_kernel = tf.constant(p.kernels[0][:, 4:]) if p.channels > 4 else None
        self._fns: dict = {}
        if p.motif is not None:
            pwm = p.motif[0]
            both = np.stack((pwm, pwm[::-1, ::-1]), axis=-1)                         # (k, 4, 2)
            self._motif_tables = [(first, tf.constant(t)) for first, t in lookup_tables(both, dtype=np.float64)]

    # -- the trunk, per phase set -------------------------------------------------------
    def _first_block_fn(self, subs: tuple[int, ...]):
        """XLA: base indices (2, m) int32 [+ signals (2, m, S)] -> the first block's pooled
        maps, one per pooling phase in ``subs`` (ReLU(conv1 + bias) then max pooling).
        """
        p = self.plan
        k, size = p.kernels[0].shape[0], p.pools[0]
        bias = self._biases[0]

        def first(bases, signals):
            n = bases.shape[1] - k + 1
            conv = None
            for start, table in self._tables:
                width = int(round(math.log(table.shape[0], 5)))
                code = bases[:, start:start + n]
                for i in range(1, width):
                    code = code + bases[:, start + i:start + i + n] * (5 ** i)
                term = tf.gather(table, code)
                conv = term if conv is None else conv + term
            if self._signal_kernel is not None:
                conv = conv + tf.nn.conv1d(signals, self._signal_kernel, 1, "VALID")
            out = []
            for sub in subs:
                if size == 1:
                    out.append(tf.nn.relu(conv + bias))
                    continue
                count = (n - sub) // size
                h = tf.reshape(conv[:, sub:sub + count * size], (2, count, size, conv.shape[-1]))
                out.append(tf.nn.relu(tf.reduce_max(h, axis=2) + bias))
            return tuple(out)

        return tf.function(first, jit_compile=True)

    def _trunk_fn(self, phases: tuple[int, ...], grid: int):
        """A tf.function: a chunk (both strands) and, per (strand, phase), each window's
        block index ``j`` and the phase's grid residue ``c`` -> the windows' pooled features
        ``(n, F)``, strand-major, then in phase order.

        Window ``(j, c)`` pools the phase's final map over ``[c + grid*j, c + grid*j + W)``:
        block maxima of ``grid`` positions, a doubling maximum over ``W // grid`` blocks, and
        the first ``W % grid`` positions of the block after them (maps are >= 0 after ReLU, so
        zero padding at the end changes no maximum).
        """
        key = (phases, grid)
        if key in self._fns:
            return self._fns[key]
        p = self.plan
        width = p.final_positions
        blocks, tail = divmod(width, grid)
        lookup = self.first_layer == "lookup"
        size0 = p.pools[0]
        subs0 = tuple(sub for sub in range(size0) if any(ph % size0 == sub for ph in phases))
        first_block = self._first_block_fn(subs0) if lookup else None

        @tf.function(jit_compile=True)
        def pools(h, size, subs):
            """Max pooling of h[:, sub:] for each sub (XLA fuses the passes)."""
            out = []
            for sub in subs:
                n = (h.shape[1] - sub) // size
                out.append(tf.reduce_max(tf.reshape(h[:, sub:sub + n * size], (h.shape[0], n, size, h.shape[-1])), axis=2))
            return tuple(out)

        @tf.function(jit_compile=True)
        def block_maxima(h, c):
            """Maxima of ``grid`` positions from ``c`` on, and of their first ``tail``."""
            h = tf.pad(h, [[0, 2 * grid], [0, 0]])
            n = h.shape[0] // grid - 1
            h = tf.reshape(tf.slice(h, [c, 0], [n * grid, h.shape[1]]), (n, grid, h.shape[1]))
            return tf.reduce_max(h, axis=1), tf.reduce_max(h[:, :max(tail, 1)], axis=1)

        def readout(h, j, c):
            full, part = block_maxima(h, c)
            best = _window_max(full, j, blocks) if blocks else None
            if tail:
                last = tf.gather(part, j + blocks)
                best = last if best is None else tf.maximum(best, last)
            return best

        def trunk(x, signals, js, cs):
            if lookup:
                state = dict(zip(subs0, first_block(x, signals)))
                layers = list(zip(self._kernels, self._biases, p.pools))[1:]
                step = size0
            else:
                state, step = {0: x}, 1
                layers = list(zip(self._kernels, self._biases, p.pools))
            for kernel, bias, size in layers:
                modulus = step * size
                new = {}
                for residue, h in state.items():
                    h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv1d(h, kernel, 1, "VALID"), bias))
                    if size == 1:
                        new[residue] = h
                        continue
                    subs = tuple(sub for sub in range(size)
                                 if any(ph % modulus == residue + step * sub for ph in phases))
                    for sub, pooled in zip(subs, pools(h, size, subs)):
                        new[residue + step * sub] = pooled
                state, step = new, modulus
            out, i = [], 0
            for strand in range(2):
                for ph in phases:
                    out.append(readout(state[ph][strand], js[i], cs[i]))
                    i += 1
            return tf.concat(out, axis=0)

        n = 2 * len(phases)
        span = self.chunk_bp + p.row_length + 2 * p.margin
        x_spec = (tf.TensorSpec([2, span], tf.int32) if lookup
                  else tf.TensorSpec([2, span, p.channels], tf.float32))
        spec = (x_spec, tf.TensorSpec([2, span, max(p.channels - 4, 1)], tf.float32),
                tuple(tf.TensorSpec([None], tf.int32) for _ in range(n)),
                tuple(tf.TensorSpec([], tf.int32) for _ in range(n)))
        fn = tf.function(trunk, input_signature=spec)
        self._fns[key] = fn
        return fn

    @tf.function(reduce_retracing=True)
    def _head_fn(self, features):
        h = features
        for W, b, act in self._head:
            h = tf.matmul(h, W) + b
            if act == "relu":
                h = tf.nn.relu(h)
        return h  # logits

    def _motif_fn(self, grid: int):
        """Best match of the matrix on either strand over each row (``MotifScan``): float64
        table lookups (XLA), block maxima over ``grid`` bp, a doubling maximum, rounded as
        ``MotifScan`` rounds.
        """
        key = ("motif", grid)
        if key in self._fns:
            return self._fns[key]
        pwm = self.plan.motif[0]
        k = len(pwm)
        width = self.plan.row_length - k + 1
        blocks, tail = divmod(width, grid)

        @tf.function(jit_compile=True)
        def block_scores(bases, c):
            n = bases.shape[0] - k + 1
            total = None
            for start, table in self._motif_tables:
                digits = int(round(math.log(table.shape[0], 5)))
                code = bases[start:start + n]
                for i in range(1, digits):
                    code = code + bases[start + i:start + i + n] * (5 ** i)
                term = tf.gather(table, code)
                total = term if total is None else total + term
            score = tf.pad(tf.reduce_max(total, axis=1), [[0, 2 * grid]], constant_values=-np.inf)
            count = score.shape[0] // grid - 1
            h = tf.reshape(tf.slice(score, [c], [count * grid]), (count, grid))
            return tf.reduce_max(h, axis=1), tf.reduce_max(h[:, :max(tail, 1)], axis=1)

        def motif(bases, j, c):
            full, part = block_scores(bases, c)
            best = _window_max(full, j, blocks) if blocks else None
            if tail:
                last = tf.gather(part, j + blocks)
                best = last if best is None else tf.maximum(best, last)
            return tf.cast(tf.round(best * SCAN_SCALE) / SCAN_SCALE, tf.float32)

        span = self.chunk_bp + self.plan.row_length + 2 * self.plan.margin
        fn = tf.function(motif, input_signature=(tf.TensorSpec([span], tf.int32), tf.TensorSpec([None], tf.int32),
                                                 tf.TensorSpec([], tf.int32)))
        self._fns[key] = fn
        return fn

    # -- one chromosome -------------------------------------------------------------------
    def _chunk_bases(self, sequence, c0: int, c1: int) -> np.ndarray:
        """``(c1 - c0,)`` uint8 base indices (0..3 A, C, G, T; 4 N or outside the chromosome)."""
        out = np.full(c1 - c0, 4, dtype=np.uint8)
        lo, hi = max(c0, 0), min(c1, len(sequence))
        if hi > lo:
            part = sequence[lo:hi]
            if part.ndim == 1:
                out[lo - c0:hi - c0] = BASE_INDEX[part]
            else:
                onehot = np.asarray(part[:, :4])
                if not np.isin(onehot, (0, 1)).all() or (onehot.sum(axis=1) > 1).any():
                    raise ScanUnsupported("the first four channels are not one-hot (or all-zero) rows")
                out[lo - c0:hi - c0] = np.where(onehot.any(axis=1), onehot.argmax(axis=1), 4)
        return out

    def _chunk_signals(self, sequence, signals, c0: int, c1: int) -> np.ndarray:
        """``(c1 - c0, S)`` float32 signal channels (0 outside the chromosome)."""
        p = self.plan
        out = np.zeros((c1 - c0, max(p.channels - 4, 1)), dtype=np.float32)
        lo, hi = max(c0, 0), min(c1, len(sequence))
        if p.channels > 4 and hi > lo:
            out[lo - c0:hi - c0] = signals[lo:hi] if signals is not None else sequence[lo:hi, 4:]
        return out

    def scan(self, sequence: np.ndarray, starts: np.ndarray, flank: int = 0,
             signals: np.ndarray | None = None, reverse_complement_average: bool = True) -> np.ndarray:
        """Probabilities of windows ``[start, start + length)`` whose rows are
        ``[start - flank, start - flank + row_length)``.

        Parameters
        ----------
        sequence : (n,) uint8 ASCII bases, or (n, 4) / (n, 4 + S) one-hot (+ signals)
        starts : sorted window starts
        flank : bases before each window in its row
        signals : (n, S) float32 signal channels, if not in ``sequence``
        reverse_complement_average : average with the reverse strand (``improved``)

        Returns
        -------
        (n_windows,) float32, or (n_windows, T) for T tasks
        """
        p = self.plan
        starts = np.asarray(starts)
        out = np.empty((len(starts), p.tasks), dtype=np.float32)
        L, D, M = p.row_length, p.decimation, p.margin
        # windows of one phase lie on a grid of `grid` final positions (1: any starts);
        # checked a block at a time (no chromosome-size temporaries)
        spacing = 0
        for first in range(0, max(len(starts) - 1, 0), 1 << 20):
            steps = np.diff(starts[first:first + (1 << 20) + 1].astype(np.int64))
            if np.any(steps <= 0):
                raise ValueError("starts must be sorted and unique")
            spacing = math.gcd(spacing, int(np.gcd.reduce(steps)))
        grid = math.lcm(spacing or D, D) // D
        grid = grid if grid <= p.final_positions else 1          # sparse windows: plain doubling
        motif_grid = spacing if 0 < spacing <= L else 1
        span = self.chunk_bp + L + 2 * M        # every chunk has this length (one trace)
        self.last_phases = set()                 # phases computed (reported by the benchmark)
        begin = 0
        while begin < len(starts):
            r_lo = int(starts[begin]) - flank
            end = int(np.searchsorted(starts, r_lo + flank + self.chunk_bp, side="left"))
            part = starts[begin:end].astype(np.int64) - flank          # the rows' first positions
            c0 = r_lo - M
            c1 = c0 + span
            bases = self._chunk_bases(sequence, c0, c1)
            sig = self._chunk_signals(sequence, signals, c0, c1)
            both_bases = np.stack((bases, COMPLEMENT_INDEX[bases[::-1]]))
            both_signals = tf.constant(np.stack((sig, sig[::-1])))
            if self.first_layer == "lookup":
                x_in = tf.constant(both_bases.astype(np.int32))
            else:
                onehot = INDEX_ONE_HOT[both_bases]
                x_in = tf.constant(np.concatenate((onehot, both_signals.numpy()), axis=-1)
                                   if p.channels > 4 else onehot)
            q_fwd = part - c0 - p.offset              # chunk index of the row's final position 0
            q_rev = c1 - part - L - p.offset
            strands = (q_fwd, q_rev) if reverse_complement_average else (q_fwd, q_fwd)
            phases = tuple(sorted(set(np.unique(strands[0] % D)) | set(np.unique(strands[1] % D))))
            self.last_phases |= set(phases)
            js, cs, orders = [], [], []
            for q in strands:
                for ph in phases:
                    sel = np.flatnonzero(q % D == ph)
                    k0 = (q[sel] - ph) // D
                    c = int(k0[0] % grid) if len(k0) else 0
                    orders.append(sel)
                    js.append(tf.constant(((k0 - c) // grid).astype(np.int32)))
                    cs.append(tf.constant(c, tf.int32))
            features = self._trunk_fn(phases, grid)(x_in, both_signals, tuple(js), tuple(cs))
            logits = self._head_fn(features).numpy()
            n = len(part)
            order = np.concatenate(orders)
            per_strand = np.empty((2 * n, p.tasks), dtype=np.float32)
            per_strand[np.concatenate((order[:n], order[n:] + n))] = logits
            fwd, rev = per_strand[:n], per_strand[n:]
            if p.motif is not None:
                _, a, b = p.motif
                first = part - c0                                  # row starts in the chunk
                c = int(first[0] % motif_grid)
                scan = self._motif_fn(motif_grid)(tf.constant(bases.astype(np.int32)),
                                                  tf.constant(((first - c) // motif_grid).astype(np.int32)),
                                                  tf.constant(c, tf.int32)).numpy()
                motif_logit = (scan[:, None] * np.float32(a) + np.float32(b)).astype(np.float32)
                fwd, rev = motif_logit + fwd, motif_logit + rev
            prob = _sigmoid(fwd)
            if reverse_complement_average:
                prob = (prob + _sigmoid(rev)) / 2
            out[begin:end] = prob
            begin = end
        return out[:, 0] if p.tasks == 1 else out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return tf.math.sigmoid(tf.constant(z)).numpy()


def scan_improved(model, onehot_chromosome: np.ndarray, starts: np.ndarray, row_length: int | None = None,
                  flank: int = 0, chunk_bp: int = 1 << 17, signals: np.ndarray | None = None,
                  reverse_complement_average: bool = True) -> np.ndarray:
    """Probabilities of the windows at ``starts`` (sorted) of one chromosome, scanned.

    ``onehot_chromosome``: (n, 4) uint8 one-hot (or (n,) ASCII bases, or (n, 4 + S) with
    signal channels); rows are ``[start - flank, start - flank + row_length)``.
    """
    scanner = Scanner(model, chunk_bp)
    if row_length is not None and row_length != scanner.plan.row_length:
        raise ValueError(f"row_length {row_length} differs from the model's {scanner.plan.row_length}")
    return scanner.scan(onehot_chromosome, starts, flank, signals, reverse_complement_average)
