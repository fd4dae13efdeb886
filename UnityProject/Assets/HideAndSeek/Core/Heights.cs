using System;
using System.Collections.Generic;

namespace HideAndSeek.Core
{
    /// <summary>What an agent stands on this physics step.</summary>
    public struct Support
    {
        /// <summary>On a top (box or wall) at the top height.</summary>
        public bool OnTop;
        /// <summary>Object index of the box it stands on, -1 none (a wall top, a ramp, the floor).</summary>
        public int Box;
    }

    /// <summary>
    /// The two WORLD.md "Heights" rules PhysX does not give by itself, as the twin states them
    /// (<c>sim/physics.py update_heights</c>): an agent whose feet are at most
    /// <see cref="ClimbTolerance"/> below the top height and whose centre is over a box or wall top
    /// (up to <see cref="SupportMargin"/> past its edge) stands on that top, so it can walk along and
    /// across 0.1 m wall tops, where a frictionless capsule would slide off; and an agent on a box
    /// moves with the box (<see cref="Carry"/>), where the frictionless contact would let the box
    /// slide out from under it. Ramp slopes stay PhysX's (the capsule climbs the wedge).
    /// </summary>
    public static class Heights
    {
        /// <summary>How far below its feet a top may be and still be stepped onto (m), the twin's CLIMB_TOLERANCE.</summary>
        public const double ClimbTolerance = 0.15;
        /// <summary>How far past a top's edge an agent's centre may be and still stand (m), the twin's SUPPORT_MARGIN.</summary>
        public const double SupportMargin = 0.075;

        /// <summary>
        /// The support of an agent with centre <paramref name="p"/> and feet at <paramref name="feetZ"/>:
        /// a top when some present box footprint or wall centre line is within the margin of its
        /// centre and the top height is within reach; the box is the lowest-index box it is over.
        /// </summary>
        public static Support Find(Vec2 p, double feetZ, IList<OrientedRect> boxes, IList<bool> boxPresent,
            IList<WallSegment> walls, WorldParams w)
        {
            var box = -1;
            for (var b = 0; b < boxes.Count && box < 0; b++)
                if (boxPresent[b] && boxes[b].Distance(p) <= SupportMargin) box = b;
            var overWall = false;
            foreach (var wall in walls)
                overWall |= wall.Present && LayoutGenerator.PointSegmentDistance(p, wall.A, wall.B) <= w.WallThickness / 2 + SupportMargin;
            var onTop = (box >= 0 || overWall) && w.WallHeight <= feetZ + ClimbTolerance;
            return new Support { OnTop = onTop, Box = onTop ? box : -1 };
        }

        /// <summary>
        /// Where a rider at <paramref name="rider"/> ends up when the box under it moves from pose
        /// <paramref name="before"/> to <paramref name="after"/>: it keeps its place in the box's frame.
        /// </summary>
        public static Vec2 Carry(OrientedRect before, OrientedRect after, Vec2 rider)
        {
            return after.Centre + before.ToLocal(rider).Rotate(after.Yaw);
        }

        /// <summary>
        /// Whether the agent in <paramref name="slot"/> rides box <paramref name="box"/>: it stands on
        /// it and does not hold it. A holder already keeps its offset to what it holds (the grab
        /// joint); carrying it too would feed its own motion back into it, step after step.
        /// </summary>
        public static bool Rides(int box, int heldBy, int slot)
        {
            return box >= 0 && heldBy != slot;
        }

        /// <summary>The rider's change of heading when its box turns from <paramref name="before"/> to <paramref name="after"/>.</summary>
        public static double CarryYaw(OrientedRect before, OrientedRect after)
        {
            return Frames.WrapAngle(after.Yaw - before.Yaw);
        }

        /// <summary>
        /// The feet height an agent on a top is held at: the top height when it stands on one and its
        /// feet sank below it, else its own height (PhysX keeps it on box tops and ramps).
        /// </summary>
        public static double HoldFeet(Support support, double feetZ, WorldParams w)
        {
            return support.OnTop ? Math.Max(feetZ, w.WallHeight) : feetZ;
        }
    }
}
