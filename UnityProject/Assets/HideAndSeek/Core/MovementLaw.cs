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
            return SpinRate(omega, torque, w.AgentInertia, w, h);
        }

        /// <summary>
        /// The same for an agent turning what it holds with it: <paramref name="inertia"/> is the yaw
        /// inertia of the agent and its held objects about the agent's centre (<see cref="HeldInertia"/>).
        /// </summary>
        public static double SpinRate(double omega, double torque, double inertia, WorldParams w, double h)
        {
            var c = w.AgentAngularFriction;
            if (c <= 0) return omega + torque * h / inertia;
            var keep = Math.Exp(-c * h / inertia);
            return omega * keep + torque * (1 - keep) / c;
        }

        /// <summary>
        /// Yaw inertia about the holder's centre of a held object of <paramref name="mass"/> and footprint
        /// <paramref name="sizeX"/> x <paramref name="sizeY"/> whose centre is <paramref name="offset"/> away:
        /// m (sx^2 + sy^2) / 12 about its own centre plus m d^2. The joint makes holder and held one body,
        /// and the twin turns them as one (sim/step.py).
        /// </summary>
        public static double HeldInertia(double mass, double sizeX, double sizeY, Vec2 offset)
        {
            return mass * (sizeX * sizeX + sizeY * sizeY) / 12 + mass * Vec2.Dot(offset, offset);
        }
    }
}
