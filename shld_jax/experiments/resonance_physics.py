"""Notebook 06, part 5: classic stochastic resonance in the forced quartic double well.

* :func:`forced_double_well` — the periodically forced well
  :math:`dx = -(x^3 - x - A\\cos\\Omega t)\\,dt + \\sqrt{2D}\\,dW`, SNR and response amplitude at
  the forcing frequency against the noise level ``D``, for several ``Ω`` in one array;
* the McNamara–Wiesenfeld adiabatic two-state theory (:func:`mw_snr`, :func:`mw_amplitude`,
  :func:`mw_amplitude_peak`) and the time-scale matching rule (:func:`matching_D`);
* the verdict arithmetic of the SR rows: where each curve peaks (:func:`peak_table`), the
  scaling exponent of the peak against the matching rule (:func:`scaling_slope`,
  :func:`slope_outcome`) and whether the SNR peaks at intermediate noise
  (:func:`snr_maximum_outcome`).

References:
    McNamara & Wiesenfeld (1989). Theory of stochastic resonance. Phys. Rev. A 39, 4854.
    Gammaitoni, Hänggi, Jung & Marchesoni (1998). Stochastic resonance. Rev. Mod. Phys. 70, 223.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from shld_jax import _potentials as P
from shld_jax import _validate as v
from shld_jax import stats

SR_WELL = P.double_well(a=1.0, barrier=0.25)   # u = x⁴/4 − x²/2 + 1/4: ΔV = 1/4, x_m = 1
DELTA_V = 0.25


def kramers(D) -> np.ndarray:
    """Kramers rate :math:`r_K = e^{-\\Delta V/D}/(\\sqrt2\\,\\pi)` of ``u = x⁴/4 − x²/2`` (``potentials.kramers_rate``)."""
    return np.array([P.kramers_rate(SR_WELL, float(d)) for d in np.atleast_1d(D)])


def exact_rate(D) -> np.ndarray:
    """Hopping rate ``1/τ(−1→+1)`` from the exact mean first-passage time (no ``ΔV/D ≫ 1`` needed)."""
    return np.array([1.0 / P.exact_mfpt(SR_WELL, -1.0, 1.0, float(d)) for d in np.atleast_1d(D)])


def mw_snr(A, D, rate, x_m=1.0):
    """Adiabatic two-state SNR (McNamara & Wiesenfeld 1989), two-sided spectra, one line.

    A two-state process ``±x_m`` with modulated rates :math:`W_\\mp(t) = r\\,e^{\\pm A x_m \\cos\\Omega t / D}`
    has, to first order in ``A``, the mean response :math:`\\bar x\\cos(\\Omega t - \\varphi)` with
    :math:`\\bar x = 2 r A x_m^2 / (D\\sqrt{4r^2 + \\Omega^2})` and the telegraph noise spectrum
    :math:`S_N(\\omega) = 4 r x_m^2 / (4r^2 + \\omega^2)`. The line at ``+Ω`` carries weight
    :math:`\\pi\\bar x^2/2`, so

    .. math:: \\mathrm{SNR} = \\frac{\\pi \\bar x^2/2}{S_N(\\Omega)} = \\frac{\\pi}{2}\\,\\frac{r A^2 x_m^2}{D^2}.

    (Gammaitoni et al. 1998, eq. 2.17, count both lines ±Ω: twice this.) Independent of Ω;
    with ``r = r_K ∝ e^{−ΔV/D}`` its maximum is at ``D = ΔV/2``.
    """
    return 0.5 * np.pi * np.asarray(rate) * A**2 * x_m**2 / np.asarray(D) ** 2


def mw_amplitude(A, D, rate, Omega, x_m=1.0):
    """:math:`\\bar x = 2 r A x_m^2 / (D\\sqrt{4r^2 + \\Omega^2})` (depends on Ω, unlike the SNR)."""
    r = np.asarray(rate)
    return 2 * r * A * x_m**2 / (np.asarray(D) * np.sqrt(4 * r**2 + Omega**2))


def matching_D(Omega) -> float:
    """Noise level of the time-scale matching rule ``2·T_K(D) = T_Ω``, i.e. ``r_K = Ω/π``:
    :math:`D = \\Delta V / \\ln(1/(\\sqrt2\\,\\Omega))` (needs ``Ω < 1/√2``)."""
    Omega = v.in_range("matching_D", "Omega", Omega, 0.0, 1 / math.sqrt(2), closed="()")
    return DELTA_V / math.log(1.0 / (math.sqrt(2.0) * Omega))


def mw_amplitude_peak(Omegas, D_grid=None) -> np.ndarray:
    """``D`` at the maximum of the MW amplitude :math:`\\bar x(D)` (exact hopping rate) for each Ω.

    With :math:`r \\propto e^{-\\Delta V/D}` the maximum solves
    :math:`\\Delta V/D - 1 = 4r^2/\\Omega^2`: a time-scale matching law of its own,
    :math:`r = (\\Omega/2)\\sqrt{\\Delta V/D - 1}` (the amplitude is Ω-dependent, the SNR is not).
    """
    D = np.geomspace(0.03, 3.0, 400) if D_grid is None else np.asarray(D_grid, float)
    r = exact_rate(D)
    return np.array([log_peak(D, mw_amplitude(1.0, D, r, float(o))) for o in np.atleast_1d(Omegas)])


@partial(jax.jit, static_argnames=("n_traj", "n_samples", "sub", "n_burn", "n_bins"))
def _forced(key, A, Omegas, Ds, dt, T, *, n_traj, n_samples, sub, n_burn, n_bins):
    nO, nD = Omegas.shape[0], Ds.shape[0]
    shape = (nO, nD, n_traj)
    k0, key = jax.random.split(key)
    x0 = jnp.where(jax.random.bernoulli(k0, 0.5, shape), 1.0, -1.0)
    amp = jnp.sqrt(2.0 * Ds * dt)[None, :, None]
    Om = Omegas[:, None, None]
    ks = jnp.arange(-n_bins, n_bins + 1, dtype=jnp.float32)
    freqs = Omegas[:, None] + ks[None, :] * (2 * jnp.pi / T)           # [nO, K]

    def em(i, carry):
        x, s, n = carry
        x = x - (SR_WELL.grad(x) - A * jnp.cos(Om * (n * dt))) * dt \
            + amp * jax.random.normal(jax.random.fold_in(key, n), shape)
        # two-state filter with hysteresis: the state flips on reaching the other minimum
        s = jnp.where(x >= 1.0, 1.0, jnp.where(x <= -1.0, -1.0, s))
        return x, s, n + 1

    def burn(carry, _):
        return jax.lax.fori_loop(0, sub, em, carry), None

    def sample(c, j):
        carry, sx, ss = c
        carry = jax.lax.fori_loop(0, sub, em, carry)
        x, s, _ = carry
        ph = jnp.exp(-1j * freqs * (j * (sub * dt)))[:, None, None, :]   # [nO, 1, 1, K]
        return (carry, sx + x[..., None] * ph, ss + s[..., None] * ph), x[:, :, 0]

    carry = (x0, x0, jnp.zeros([], jnp.int32))
    carry, _ = jax.lax.scan(burn, carry, None, length=n_burn)
    z = jnp.zeros((*shape, 2 * n_bins + 1), jnp.complex64)
    (carry, sx, ss), trace = jax.lax.scan(sample, (carry, z, z),
                                          jnp.arange(1, n_samples + 1, dtype=jnp.float32))
    return sx / n_samples, ss / n_samples, trace                       # (1/T)·Σ δ → mean over samples


def _line_and_noise(cc, T, n_bins):
    """SNR, line amplitude and noise spectrum from Fourier coefficients ``cc [nO, nD, M, K]``."""
    M = cc.shape[2]
    mean = cc.mean(axis=2, keepdims=True)
    dev2 = np.abs(cc - mean) ** 2
    var0 = dev2[..., n_bins].sum(axis=2) / (M - 1)
    amp2 = 4.0 * np.maximum(np.abs(mean[:, :, 0, n_bins]) ** 2 - var0 / M, 0.0)
    S = T * dev2.sum(axis=2).mean(axis=-1) / (M - 1)
    return 0.5 * np.pi * amp2 / S, np.sqrt(amp2), S


def _check_forced(c, A, Omegas, Ds, n_traj, n_periods):
    A = v.in_range(c, "A", A, 0.0, 2 / (3 * math.sqrt(3)), closed="()")
    Ds = np.geomspace(0.05, 0.8, 12) if Ds is None else np.asarray(Ds, float)
    for d in Ds:
        v.positive(c, "D", d)
    Om = np.asarray(Omegas, float)
    for o in Om:
        v.positive(c, "Omega", o)
    n_traj = v.positive_int(c, "n_traj", n_traj)
    if n_traj < 2:
        raise ValueError(f"`{c}`: n_traj must be >= 2, got n_traj = {n_traj}.")
    T = v.positive_int(c, "n_periods", n_periods) * 2 * math.pi / Om.min()
    for o in Om:
        if abs(o * T / (2 * math.pi) - round(o * T / (2 * math.pi))) > 1e-6:
            raise ValueError(f"`{c}`: every Omega must be a whole multiple of min(Omegas) so the "
                             f"record holds whole periods, got Omegas = {tuple(Om)}.")
    return A, Om, Ds, n_traj, T


def forced_double_well(*, A=0.1, Omegas=(0.1, 0.3), Ds=None, n_traj=128, n_periods=20, dt=0.02,
                       sample_dt=0.1, burn_periods=2, n_bins=3, key=None, n_boot=200,
                       boot_seed: int = 0) -> dict:
    """Periodically forced quartic double well and its SNR at the forcing frequency.

    :math:`dx = -(x^3 - x - A\\cos\\Omega t)\\,dt + \\sqrt{2D}\\,dW` (Euler–Maruyama, step ``dt``);
    ``A`` must be sub-threshold (``A < 2/(3√3) ≈ 0.385``: no hopping without noise). All
    ``(Ω, D, trajectory)`` combinations run as one array. Over ``T = n_periods·2π/min(Ω)``
    after ``burn_periods`` periods, for the raw ``x(t)`` and the two-state filtered
    ``s(t) = ±1`` (flips on reaching ``∓1``):

    * Fourier coefficients :math:`c_m(\\omega) = T^{-1}\\int s\\,e^{-i\\omega t}dt` at ``ω = Ω + kΔω``,
      ``|k| ≤ n_bins``, ``Δω = 2π/T``; ``c̄`` their ensemble mean (common forcing phase);
    * line amplitude ``x̄² = 4·(|c̄(Ω)|² − var_m c(Ω)/M)`` (noise bias removed);
    * noise spectrum ``S_N(Ω) = T·⟨|c_m − c̄|²⟩`` over the 2·n_bins+1 bins (two-sided);
    * ``SNR = (π x̄²/2)/S_N(Ω)`` — the convention of :func:`mw_snr`.

    ``n_boot`` bootstrap resamples of the trajectories (generator ``boot_seed``) give
    ``snr_s_boot`` and ``amp_s_boot`` ``[n_boot, nO, nD]``. Every Ω must be a whole multiple of ``2π/T``.

    Returns a dict of numpy arrays: ``D`` [nD], ``Omega`` [nO], ``snr_s``, ``snr_x``, ``amp_s``,
    ``amp_x``, ``noise_s`` [nO, nD], the bootstrap arrays, ``trace`` [n_samples, nO, nD]
    (trajectory 0), ``t`` [n_samples], ``T``.
    """
    c = "forced_double_well"
    A, Om, Ds, n_traj, T = _check_forced(c, A, Omegas, Ds, n_traj, n_periods)
    dt = v.positive(c, "dt", dt)
    sub = max(1, round(v.positive(c, "sample_dt", sample_dt) / dt))
    sdt = sub * dt
    n_samples = int(round(T / sdt))
    T = n_samples * sdt
    n_burn = int(round(burn_periods * 2 * math.pi / Om.min() / sdt))
    key = jax.random.key(0) if key is None else key
    cx, cs, trace = _forced(key, jnp.float32(A), jnp.asarray(Om, jnp.float32), jnp.asarray(Ds, jnp.float32),
                            jnp.float32(dt), jnp.float32(T), n_traj=n_traj, n_samples=n_samples,
                            sub=sub, n_burn=n_burn, n_bins=int(n_bins))
    cx, cs = np.asarray(cx, np.complex128), np.asarray(cs, np.complex128)
    snr_s, amp_s, S_s = _line_and_noise(cs, T, n_bins)
    snr_x, amp_x, _ = _line_and_noise(cx, T, n_bins)
    rng = np.random.default_rng(boot_seed)
    boot = [_line_and_noise(cs[:, :, rng.integers(0, n_traj, n_traj)], T, n_bins)[:2] for _ in range(n_boot)]
    return {"D": Ds, "Omega": Om, "A": A, "T": T, "snr_s": snr_s, "snr_x": snr_x, "amp_s": amp_s,
            "amp_x": amp_x, "noise_s": S_s,
            "snr_s_boot": np.stack([b[0] for b in boot]), "amp_s_boot": np.stack([b[1] for b in boot]),
            "trace": np.asarray(trace, np.float64), "t": (np.arange(n_samples) + 1) * sdt}


def log_peak(D, y) -> float:
    """Location of the maximum of ``y(D)``: vertex of a parabola in (log D, log y) through the
    top point and its neighbours (the grid point itself at an edge, or if ``y ≤ 0`` there)."""
    D, y = np.asarray(D, float), np.asarray(y, float)
    i = int(np.nanargmax(y))
    if i == 0 or i == len(D) - 1 or np.any(y[i - 1:i + 2] <= 0):
        return float(D[i])
    lx, ly = np.log(D[i - 1:i + 2]), np.log(y[i - 1:i + 2])
    a, b, _ = np.polyfit(lx, ly, 2)
    if a >= 0:
        return float(D[i])
    return float(np.exp(np.clip(-b / (2 * a), lx[0], lx[-1])))


# ------------------------------------------------------------------------ verdict arithmetic


def peak_table(fdw: dict, curve: str = "snr") -> tuple[np.ndarray, np.ndarray]:
    """Peak ``D`` of ``curve`` (``"snr"`` or ``"amp"``, two-state output) for every Ω: the
    measured ``[nO]`` and its bootstrap ``[n_boot, nO]`` (:func:`log_peak` on each curve)."""
    if curve not in ("snr", "amp"):
        raise ValueError(f"`peak_table`: curve must be 'snr' or 'amp', got curve = {curve!r}")
    y, boot, D = fdw[f"{curve}_s"], fdw[f"{curve}_s_boot"], fdw["D"]
    peaks = np.array([log_peak(D, y[j]) for j in range(y.shape[0])])
    pb = np.array([[log_peak(D, b[j]) for j in range(y.shape[0])] for b in boot])
    return peaks, pb


def scaling_slope(x, peaks, peaks_boot) -> tuple[float, float]:
    """Least-squares exponent ``b`` of ``ln D_peak = a + b·x`` over the Ω values, and its
    bootstrap standard error (the same fit on every bootstrap row of ``peaks_boot``)."""
    x = np.asarray(x, float)
    if x.size < 3 or np.ptp(x) == 0:
        raise ValueError(f"`scaling_slope`: need >= 3 distinct x values, got x = {x.tolist()}")
    fit = lambda y: float(np.polyfit(x, np.log(y), 1)[0])
    boot = np.array([fit(row) for row in np.asarray(peaks_boot, float)])
    return fit(np.asarray(peaks, float)), float(boot.std(ddof=1))


def slope_outcome(x, peaks, peaks_boot, *, target: float, margin: float = 0.25) -> stats.Outcome:
    """TOST of the scaling exponent (:func:`scaling_slope`) against a theory's ``target`` ± ``margin``."""
    b, se = scaling_slope(x, peaks, peaks_boot)
    return stats.equivalence(b, se, target=target, margin=margin)


def snr_maximum_outcome(snr, snr_boot) -> stats.Outcome:
    """Does the SNR peak at intermediate noise? ``ln(max SNR / max(SNR at both grid ends))``
    with its bootstrap standard error must be ≥ 0 (one-sided bound); the ends are floored at
    1e-3 of the maximum (an SNR of 0 at an end would make the ratio infinite). A maximum at an
    end of the grid fails."""
    snr, boot = np.asarray(snr, float), np.asarray(snr_boot, float)

    def stat(y):
        top = max(float(y.max()), 1e-300)
        return math.log(top / max(y[0], y[-1], 1e-3 * top))

    i = int(np.argmax(snr))
    if i in (0, snr.size - 1):
        return stats.threshold(0.0, False, test="the SNR maximum lies at an end of the D grid")
    se = float(np.std([stat(b) for b in boot], ddof=1))
    return stats.bound(stat(snr), se, at_least=0.0)
