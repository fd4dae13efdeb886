"""PhysX settings: what the contract fixes, what the Unity scene leaves at Unity's defaults, and
the SAPIEN calls that apply both (docs/physx.md maps each to its Unity setting).

From the contract (``WorldConfig``), which the C# scene reads too: the physics timestep, the solver
iterations, the contact offset and gravity. Everything else is Unity's default for a setting that
PhysX 4 (Unity) and PhysX 5 (SAPIEN) both have, because the scene never changes it.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import Iterator

from ..contract import WorldConfig

with warnings.catch_warnings():
    # SAPIEN looks for a system Vulkan for its renderer, which this backend never uses.
    warnings.simplefilter("ignore")
    import sapien
    import sapien.physx as px

# Unity's defaults for settings the scene does not touch (Edit > Project Settings > Physics).
UNITY_BOUNCE_THRESHOLD = 2.0            # Physics.bounceThreshold, m/s
UNITY_SLEEP_THRESHOLD = 0.005           # Physics.sleepThreshold (mass-normalised energy)
UNITY_MAX_DEPENETRATION = 10.0          # Physics.defaultMaxDepenetrationVelocity, m/s
UNITY_MAX_ANGULAR_SPEED = 50.0          # Physics.defaultMaxAngularSpeed, rad/s
UNITY_REST_OFFSET = 0.0                 # Unity colliders have no rest offset
UNITY_SOLVER_IS_TGS = False             # Physics Settings > Solver Type: Projected Gauss Seidel
UNITY_PCM = True                        # Contact Generation: Persistent Contact Manifold
UNITY_ENHANCED_DETERMINISM = False
UNITY_CCD = False                       # Rigidbody.collisionDetectionMode = Discrete


@dataclass(frozen=True)
class PhysxSettings:
    timestep: float                 # s per physics step (Time.fixedDeltaTime)
    steps_per_decision: int         # physics steps per contract step (dt)
    position_iterations: int
    velocity_iterations: int
    contact_offset: float
    gravity: float                  # m/s^2, downwards

    @staticmethod
    def of(world: WorldConfig) -> "PhysxSettings":
        return PhysxSettings(
            timestep=world.physics_timestep,
            steps_per_decision=round(world.dt / world.physics_timestep),   # whole (contract)
            position_iterations=world.solver_position_iterations,
            velocity_iterations=world.solver_velocity_iterations,
            contact_offset=world.contact_offset, gravity=world.gravity)


@contextlib.contextmanager
def configured(s: PhysxSettings) -> Iterator[None]:
    """SAPIEN takes scene, body and shape settings from process-wide defaults when it creates a
    system, body or shape; set ours around that and restore the caller's afterwards."""
    old = px.get_scene_config(), px.get_body_config(), px.get_shape_config()
    scene, body, shape = px.PhysxSceneConfig(), px.PhysxBodyConfig(), px.PhysxShapeConfig()
    scene.gravity = [0.0, 0.0, -s.gravity]
    scene.bounce_threshold = UNITY_BOUNCE_THRESHOLD
    scene.enable_tgs = UNITY_SOLVER_IS_TGS
    scene.enable_pcm = UNITY_PCM
    scene.enable_ccd = UNITY_CCD
    scene.enable_enhanced_determinism = UNITY_ENHANCED_DETERMINISM
    body.solver_position_iterations = s.position_iterations
    body.solver_velocity_iterations = s.velocity_iterations
    body.sleep_threshold = UNITY_SLEEP_THRESHOLD
    shape.contact_offset = s.contact_offset
    shape.rest_offset = UNITY_REST_OFFSET
    px.set_scene_config(scene)
    px.set_body_config(body)
    px.set_shape_config(shape)
    try:
        yield
    finally:
        px.set_scene_config(old[0])
        px.set_body_config(old[1])
        px.set_shape_config(old[2])


def new_scene(s: PhysxSettings) -> sapien.Scene:
    """A CPU PhysX scene with a frictionless ground plane at z = 0 and no renderer."""
    with configured(s):
        scene = sapien.Scene([px.PhysxCpuSystem()])
        scene.set_timestep(s.timestep)
        scene.add_ground(0.0, render=False, material=frictionless())
    return scene


def frictionless() -> px.PhysxMaterial:
    """Every collider's material in the scene (PhysicsCompat.MakeFrictionless): no friction,
    no bounce. With zero on both sides Unity's Minimum combine and PhysX's Average agree."""
    return px.PhysxMaterial(0.0, 0.0, 0.0)
