using System;

namespace HideAndSeek.Core
{
    /// <summary>
    /// The movement law of WORLD.md v1.1 as the forces the scene adds on each fixed physics step
    /// (the twin integrates the same law in <c>sim/physics.py</c>, <c>drive</c>): viscous drag and
    /// Coulomb floor friction on every body, and the yaw rate of an agent. Rigidbody damping stays 0:
    /// PhysX's damping scales a velocity by (1 - damping * dt) per step, whose top speed depends on the
    /// timestep; these forces give the contract's top speeds, (F/m - floor_friction * gravity) / friction,
    /// at any timestep.
    /// </summary>
    public static class MovementLaw
    {
        /// <summary>Viscous drag force: -friction * mass * velocity.</summary>
        public static Vec2 Drag(Vec2 velocity, double mass, double friction)
        {
            return velocity * (-friction * mass);
        }

        /// <summary>
        /// Coulomb floor friction against the horizontal velocity: floor_friction * gravity * mass, but
        /// never more than stops the body within one step of <paramref name="h"/> seconds (it never
        /// reverses the motion).
        /// </summary>
        public static Vec2 FloorFriction(Vec2 velocity, double mass, WorldParams w, double h)
        {
            var speed = velocity.Length;
            if (speed <= 0) return new Vec2(0, 0);
            var force = Math.Min(w.FloorFriction * w.Gravity * mass, mass * speed / h);
            return velocity * (-force / speed);
        }

        /// <summary>
        /// The yaw rate after <paramref name="h"/> seconds under <paramref name="torque"/>: the exact
        /// solution of agent_inertia * dw/dt = torque - agent_angular_friction * w (the twin's own), since
        /// an agent's small inertia makes that equation too stiff for an explicit force.
        /// </summary>
        public static double SpinRate(double omega, double torque, WorldParams w, double h)
        {
            var c = w.AgentAngularFriction;
            if (c <= 0) return omega + torque * h / w.AgentInertia;
            var keep = Math.Exp(-c * h / w.AgentInertia);
            return omega * keep + torque * (1 - keep) / c;
        }
    }
}
