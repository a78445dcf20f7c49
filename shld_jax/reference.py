"""Faithful numpy port of seed 002's ``StochasticHarmonicLearning`` (the reference implementation).

Kept as the seed wrote it, with two changes only: the noise source is injectable
(``normal=`` callable, default ``np.random.randn``) so a test can feed it the same
noise as the JAX engine, and ``np.random`` is not touched globally.

Known defects of the seed's code, documented here and demonstrated in notebook 01:

1. **Time units.** ``step`` uses ``θ − lr·∇ℒ + sqrt(2D·dt)·ξ``: the drift advances
   time by ``lr`` but the noise by ``dt`` (default 1.0). As an Euler–Maruyama step
   of ``dθ = −∇ℒ dt' + sqrt(2D') dW`` with ``dt' = lr`` it has ``D' = D·dt/lr``:
   with the defaults ``lr=0.01, dt=1`` the effective temperature is 100× ``D``.
   The port equals the JAX engine exactly when ``dt == lr``.
2. **The adaptive-noise boost is never undone.** In ``train``, the boost step is
   appended to ``interventions`` and then compared with itself
   (``step - interventions[-1] > 10`` is always false), so ``self.D`` is multiplied
   by 5 on *every* step with ``C < 0.5`` after step 50 and never restored; D grows
   geometrically and the run ends in overflow. (The seed's text says ×10; its code ×5.)
   The corrected intervention (boost for a fixed number of steps, then restore) is
   :class:`shld_jax._langevin.Boost`.
3. ``escape_time`` returns ``exp(ΔE/D)`` with no prefactor and
   ``consolidation_ratio`` is evaluated with the already-boosted D.
"""

from __future__ import annotations

import numpy as np


class StochasticHarmonicLearning:
    """Langevin dynamics optimizer with consolidation monitoring (seed 002, verbatim logic)."""

    def __init__(self, loss_fn, grad_fn, dim, lr=0.01, noise_scale=0.01, normal=None):
        self.loss_fn = loss_fn
        self.grad_fn = grad_fn
        self.dim = dim
        self.lr = lr
        self.D = noise_scale
        self._normal = np.random.randn if normal is None else normal

    def step(self, theta, dt=1.0):
        """θ_{t+1} = θ_t − α·∇ℒ + √(2D·dt)·ξ."""
        grad = self.grad_fn(theta)
        drift = -self.lr * grad
        noise = self._normal(self.dim)
        diffusion = np.sqrt(2 * self.D * dt) * noise
        return theta + drift + diffusion

    def consolidation_ratio(self, theta):
        grad = self.grad_fn(theta)
        return np.sum(grad**2) / (self.D * self.dim)

    def estimate_barrier_height(self, theta_current, theta_target):
        return max(self.loss_fn(theta_target) - self.loss_fn(theta_current), 0)

    def escape_time(self, barrier_height):
        if barrier_height < 1e-10:
            return 0
        return np.exp(barrier_height / self.D)

    def train(self, theta_init, n_steps=1000, dt=1.0, adaptive_noise=True, C_threshold=0.5):
        trajectory = [theta_init.copy()]
        losses, consolidations, interventions = [], [], []
        theta = theta_init.copy()
        for step in range(n_steps):
            theta = self.step(theta, dt)
            loss = self.loss_fn(theta)
            C = self.consolidation_ratio(theta)
            losses.append(loss)
            consolidations.append(C)
            trajectory.append(theta.copy())
            if adaptive_noise and C < C_threshold and step > 50:
                old_D = self.D
                self.D *= 5.0
                interventions.append(step)
                # the seed's restore: never fires (interventions[-1] == step)
                if len(interventions) > 0 and step - interventions[-1] > 10:
                    self.D = old_D
        return {
            "trajectory": np.array(trajectory),
            "losses": np.array(losses),
            "consolidations": np.array(consolidations),
            "interventions": interventions,
            "final_theta": theta,
            "final_loss": losses[-1],
        }
