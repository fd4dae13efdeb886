using System;
using System.Collections.Generic;
using HideAndSeek.Core;
using NUnit.Framework;

namespace HideAndSeek.Tests
{
    [TestFixture]
    public class HeightsTests
    {
        static readonly WorldParams World = WorldDefaults.QuadrantScenario();
        static readonly WallSegment[] Walls = { new WallSegment(new Vec2(0, -1), new Vec2(0, 1)), new WallSegment() };
        static readonly OrientedRect[] Boxes = { new OrientedRect(new Vec2(2, 0), 0.3, new Vec2(0.25, 0.25)) };

        static Support Find(double x, double y, double feet, bool boxPresent = true)
        {
            return Heights.Find(new Vec2(x, y), feet, Boxes, new[] { boxPresent }, Walls, World);
        }

        [Test]
        public void AnAgentHighEnoughOverAWallTopStandsOnIt()
        {
            var s = Find(0.09, 0.5, 0.45);
            Assert.IsTrue(s.OnTop, "centre 0.04 m past the wall's face: within the 0.075 m margin");
            Assert.AreEqual(-1, s.Box, "a wall is no box");
            Assert.AreEqual(0.5, Heights.HoldFeet(s, 0.45, World), 1e-12, "held at the top height");
            Assert.IsFalse(Find(0.15, 0.5, 0.5).OnTop, "0.1 m past the face: off the wall, it falls");
            Assert.IsFalse(Find(0.0, 0.5, 0.3).OnTop, "0.2 m below the top: the wall blocks it instead");
            Assert.IsFalse(Find(0.0, 1.2, 0.5).OnTop, "past the wall's end");
            Assert.AreEqual(0.3, Heights.HoldFeet(Find(0.0, 0.5, 0.3), 0.3, World), 1e-12);
            Assert.IsFalse(Heights.Find(new Vec2(0, 0), 0.5, Boxes, new[] { true }, new[] { new WallSegment() }, World).OnTop,
                "an absent wall slot holds nobody");
        }

        [Test]
        public void AnAgentOnABoxKnowsWhichBox()
        {
            Assert.AreEqual(0, Find(2.2, 0.1, 0.5).Box);
            Assert.AreEqual(-1, Find(2.2, 0.1, 0.5, boxPresent: false).Box);
            Assert.AreEqual(-1, Find(2.2, 0.1, 0.0).Box, "on the floor beside it");
        }

        [Test]
        public void ARiderKeepsItsPlaceInTheBoxFrame()
        {
            var before = new OrientedRect(new Vec2(1, 1), 0.0, new Vec2(0.25, 0.25));
            var after = new OrientedRect(new Vec2(1.1, 0.9), Math.PI / 2, new Vec2(0.25, 0.25));
            var rider = new Vec2(1.2, 1.0);
            var moved = Heights.Carry(before, after, rider);
            Assert.AreEqual(1.1, moved.X, 1e-12, "0.2 m along the box's heading, which now points along +y");
            Assert.AreEqual(1.1, moved.Y, 1e-12);
            Assert.AreEqual(Math.PI / 2, Heights.CarryYaw(before, after), 1e-12);
            var still = Heights.Carry(before, before, rider);
            Assert.AreEqual(rider.X, still.X, 1e-12);
            Assert.AreEqual(rider.Y, still.Y, 1e-12);
        }

        [Test]
        public void AHolderIsNotCarriedByWhatItHolds()
        {
            Assert.IsTrue(Heights.Rides(0, -1, 2), "pushed by someone else, or by nobody");
            Assert.IsTrue(Heights.Rides(0, 1, 2), "held by another agent");
            Assert.IsFalse(Heights.Rides(0, 2, 2), "its own grab keeps the offset");
            Assert.IsFalse(Heights.Rides(-1, -1, 2));
        }
    }
}
