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
* Settings and host devices: :data:`settings`, :class:`Settings`, :func:`set_host_device_count`.
* Claims ledger: :mod:`shld_jax.claims`.
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError, version as _version

try:
    __version__: str = _version("shld-jax")
except _PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

# `import shld_jax` changes nothing in os.environ: the host-device count is set by the
# caller (the Makefile, the kernelspec's env, or sj.set_host_device_count in a script).
from shld_jax._ars import ARSState as ARSState, ars as ars, update_regulariser as update_regulariser
from shld_jax._stabilisers import SpamState as SpamState, ZClipState as ZClipState, scale_by_spam as scale_by_spam, spam as spam, zclip as zclip  # noqa: E501
from shld_jax._activations import (
    StochA as StochA,
    stochastic_activation as stochastic_activation,
)
from shld_jax._diagnostics import (
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
from shld_jax._langevin import (
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
from shld_jax._potentials import (
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
from shld_jax._resonance import (
    ResonanceState as ResonanceState,
    StochasticResonanceConfig as StochasticResonanceConfig,
    StochasticResonanceInjector as StochasticResonanceInjector,
    stochastic_resonance_noise as stochastic_resonance_noise,
)
from shld_jax._host import set_host_device_count as set_host_device_count
from shld_jax._settings import Settings as Settings, settings as settings
from shld_jax._llc import LLCResult as LLCResult, local_learning_coefficient as local_learning_coefficient

__all__ = [
    # Langevin engine
    "euler_maruyama", "simulate", "first_passage_times", "overdamped_langevin",
    "LangevinState", "SimulationResult", "Boost", "Above", "Below", "NEVER",
    # potentials and rates
    "double_well", "tilted_double_well", "quadratic", "DoubleWell", "Quadratic",
    "kramers_rate", "kramers_rate_seed", "exact_mfpt", "gibbs_density",
    # diagnostics (seed 002)
    "consolidation_ratio", "gradient_variance", "per_example_grads", "sgd_diffusion",
    "diffusion_virial", "diffusion_from_trajectory", "seed_diffusion_from_gradients",
    "seed_diffusion_from_trajectory", "seed_effective_diffusion", "hessian_max_eigenvalue",
    "stability_limit_lr", "seed_optimal_lr", "uncertainty_relation", "Uncertainty",
    "consolidation_lr_rule", "ConsolidationLRState",
    # local learning coefficient
    "local_learning_coefficient", "LLCResult",
    # optimisers: ARS (seed 001), SR noise (seed 000)
    "ars", "ARSState", "update_regulariser",
    "zclip", "ZClipState", "spam", "scale_by_spam", "SpamState",  # stabilisers (notebook 05)
    "stochastic_resonance_noise", "StochasticResonanceConfig", "StochasticResonanceInjector",
    "ResonanceState",
    # stochastic activations (seed 003)
    "StochA", "stochastic_activation",
    # settings and devices
    "settings", "Settings", "set_host_device_count",
]
