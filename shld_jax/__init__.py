"""shld-jax: noise and stability in neural-network training, in JAX.

Public API (private modules are re-exported here, diffrax/equinox style):

* Langevin engine: :func:`euler_maruyama`, :func:`simulate`, :func:`first_passage_times`,
  :func:`overdamped_langevin` (jax-md ``(init_fn, step_fn)``), :class:`Boost`.
* Potentials and rates: :func:`double_well`, :func:`tilted_double_well`, :func:`quadratic`,
  :func:`kramers_rate`, :func:`kramers_rate_seed`, :func:`exact_mfpt`, :func:`gibbs_density`.
* Diagnostics (seed 002): :func:`consolidation_ratio`, diffusion estimators, :func:`hessian_max_eigenvalue`,
  :func:`seed_optimal_lr`, :func:`consolidation_lr_rule` (optax).
* Seed 000: :class:`StochasticResonanceConfig`, :func:`stochastic_resonance_noise` (optax),
  :class:`StochasticResonanceInjector`. Seed 001: :func:`ars` (optax). Seed 003: :class:`StochA`.
* Claims ledger: :mod:`shld_jax.claims`.
"""

import os as _os
import sys as _sys

__version__ = "0.1.0"

# Expose every CPU core as a JAX device (must happen before JAX starts; see
# shld_jax/sharding.py). Skipped when JAX is already imported or XLA_FLAGS is set.
if (
    "jax" not in _sys.modules
    and "xla_force_host_platform_device_count" not in _os.environ.get("XLA_FLAGS", "")
    and _os.environ.get("SHLD_HOST_DEVICES", "") != "1"
):
    _n = _os.environ.get("SHLD_HOST_DEVICES") or str(_os.cpu_count() or 1)
    _os.environ["XLA_FLAGS"] = (
        _os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={_n}"
    ).strip()

from shld_jax._ars import ARSState as ARSState, ars as ars, update_regulariser as update_regulariser  # noqa: E402
from shld_jax._activations import (  # noqa: E402
    StochA as StochA,
    stochastic_activation as stochastic_activation,
)
from shld_jax._diagnostics import (  # noqa: E402
    ConsolidationLRState as ConsolidationLRState,
    Uncertainty as Uncertainty,
    consolidation_lr_rule as consolidation_lr_rule,
    consolidation_ratio as consolidation_ratio,
    diffusion_from_trajectory as diffusion_from_trajectory,
    diffusion_virial as diffusion_virial,
    gradient_variance as gradient_variance,
    hessian_max_eigenvalue as hessian_max_eigenvalue,
    per_example_grads as per_example_grads,
    seed_diffusion_from_gradients as seed_diffusion_from_gradients,
    seed_diffusion_from_trajectory as seed_diffusion_from_trajectory,
    seed_effective_diffusion as seed_effective_diffusion,
    seed_optimal_lr as seed_optimal_lr,
    sgd_diffusion as sgd_diffusion,
    stability_limit_lr as stability_limit_lr,
    uncertainty_relation as uncertainty_relation,
)
from shld_jax._langevin import (  # noqa: E402
    NEVER as NEVER,
    Above as Above,
    Below as Below,
    Boost as Boost,
    LangevinState as LangevinState,
    SimulationResult as SimulationResult,
    euler_maruyama as euler_maruyama,
    first_passage_times as first_passage_times,
    overdamped_langevin as overdamped_langevin,
    simulate as simulate,
)
from shld_jax._potentials import (  # noqa: E402
    DoubleWell as DoubleWell,
    Quadratic as Quadratic,
    double_well as double_well,
    exact_mfpt as exact_mfpt,
    gibbs_density as gibbs_density,
    kramers_rate as kramers_rate,
    kramers_rate_seed as kramers_rate_seed,
    quadratic as quadratic,
    tilted_double_well as tilted_double_well,
)
from shld_jax._resonance import (  # noqa: E402
    ResonanceState as ResonanceState,
    StochasticResonanceConfig as StochasticResonanceConfig,
    StochasticResonanceInjector as StochasticResonanceInjector,
    stochastic_resonance_noise as stochastic_resonance_noise,
)
