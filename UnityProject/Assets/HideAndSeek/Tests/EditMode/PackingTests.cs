using System;
using System.Collections.Generic;
using System.Linq;
using HideAndSeek.Core;
using NUnit.Framework;

namespace HideAndSeek.Tests
{
    [TestFixture]
    public class ObsPackerTests
    {
        static ArenaSnapshot Snapshot()
        {
            var s = new ArenaSnapshot(WorldDefaults.QuadrantScenario());
            for (var a = 0; a < 4; a++)
            {
                s.Agents[a].Present = true;
                s.Agents[a].Pos = new Vec2(a * 0.6 - 1, 0.3 * a);
                s.Agents[a].Theta = 0.1 * a;
            }
            s.Agents[0].Vel = new Vec2(1.2, -0.6);
            s.Agents[0].AngVel = 1.5;
            s.Agents[3].Z = 0.5;
            s.Objects[0] = new ObjectSnapshot { Present = true, Pos = new Vec2(2, 2), SizeX = 0.5, SizeY = 0.5, LockedTeam = 0, HeldBy = -1 };
            s.Objects[1] = new ObjectSnapshot { Present = true, Pos = new Vec2(1, 2), SizeX = 1.5, SizeY = 0.5, LockedTeam = -1, HeldBy = 2 };
            s.Objects[2] = new ObjectSnapshot { Present = true, Pos = new Vec2(-1, -2), Theta = 1.0, SizeX = 1.0, SizeY = 0.5, LockedTeam = 1, HeldBy = -1 };
            s.Step = 16;
            return s;
        }

        [Test]
        public void SelfVectorColumns()
        {
            var s = Snapshot();
            s.Lidar[0, 2] = 0.25f;
            var o = ObsPacker.Self(s, 0);
            Assert.AreEqual(41, o.Length);
            Assert.AreEqual(-1 / 6f, o[0], 1e-6);
            Assert.AreEqual(0.2f, o[3], 1e-6);
            Assert.AreEqual(-0.1f, o[4], 1e-6);
            Assert.AreEqual(0f, o[5], 1e-6);
            Assert.AreEqual(1f, o[6], 1e-6);
            Assert.AreEqual(1.5f / 3f, o[7], 1e-6, "angular velocity over max_torque / angular friction = 3 rad/s");
            Assert.AreEqual(1f, o[8]);
            Assert.AreEqual(0.5f, o[9], 1e-6);
            Assert.AreEqual(0.8f, o[10], 1e-6);
            Assert.AreEqual(0.25f, o[13]);
            Assert.AreEqual(1f, o[40]);
            Assert.AreEqual(0f, ObsPacker.Self(s, 2)[8], "a seeker is not a hider");
        }

        [Test]
        public void AgentRowsSkipSelfKeepIndexOrderAndZeroTheUnseen()
        {
            var s = Snapshot();
            s.SeenAgents[1, 3] = true;
            var rows = ObsPacker.AgentRows(s, 1);
            Assert.AreEqual(3, rows.Length);
            Assert.IsTrue(rows[0].All(v => v == 0f), "slot 0 unseen");
            Assert.IsTrue(rows[1].All(v => v == 0f), "slot 2 unseen");
            var r = rows[2];   // slot 3, a seeker standing on top
            Assert.AreEqual(1f, r[0]);
            Assert.AreEqual(1.2f / 6f, r[1], 1e-6);
            Assert.AreEqual(0.6f / 6f, r[2], 1e-6);
            Assert.AreEqual(0.5f / 6f, r[3], 1e-6);
            Assert.AreEqual(0f, r[8], "not a teammate of hider 1");
            Assert.AreEqual(0f, r[9]);
        }

        [Test]
        public void ObjectRowsAreRelativeToTheViewersTeam()
        {
            var s = Snapshot();
            for (var o = 0; o < 3; o++) s.SeenObjects[2, o] = true;
            var boxes = ObsPacker.ObjectRows(s, 2, false);
            var ramps = ObsPacker.ObjectRows(s, 2, true);
            Assert.AreEqual(2, boxes.Length);
            Assert.AreEqual(1, ramps.Length);
            // Box 0 locked by hiders: the seeker sees "locked by the other team".
            Assert.AreEqual(0f, boxes[0][10]);
            Assert.AreEqual(1f, boxes[0][11]);
            // Box 1 held by the viewer itself; elongated footprint.
            Assert.AreEqual(1f, boxes[1][12]);
            Assert.AreEqual(0f, boxes[1][13]);
            Assert.AreEqual(0.25f, boxes[1][8], 1e-6);
            // Ramp locked by the seekers' own team; dz is the object's base minus the viewer's feet.
            Assert.AreEqual(1f, ramps[0][10]);
            Assert.AreEqual((float)Math.Sin(1.0), ramps[0][6], 1e-6);
            Assert.AreEqual(0f, ramps[0][3]);
            // The hider 0 sees nothing: all rows zero, and box 1 is "held by other" for nobody.
            Assert.IsTrue(ObsPacker.ObjectRows(s, 0, false).All(row => row.All(v => v == 0f)));
        }

        [Test]
        public void AbsentSlotsObserveAndAreObservedAsZeros()
        {
            var s = Snapshot();
            s.Agents[1].Present = false;
            s.SeenAgents[0, 1] = true;
            Assert.IsTrue(ObsPacker.Self(s, 1).All(v => v == 0f));
            Assert.IsTrue(ObsPacker.AgentRows(s, 0)[0].All(v => v == 0f));
        }

        [Test]
        public void StateBlocksFollowTheLayout()
        {
            var s = Snapshot();
            var st = ObsPacker.State(s);
            Assert.AreEqual(new ObsLayout(s.World).StateSize, st.Length);
            Assert.AreEqual(1f, st[0]);
            Assert.AreEqual(-1 / 6f, st[1], 1e-6);
            Assert.AreEqual(0.5f, st[8], 1e-6);
            Assert.AreEqual(1f, st[9], "slot 0 is a hider");
            var box1 = 40 + 14;
            Assert.AreEqual(1f, st[box1]);
            Assert.AreEqual(0f, st[box1 + 12], "held by a seeker, not a hider");
            Assert.AreEqual(1f, st[box1 + 13]);
            var ramp = 40 + 28;
            Assert.AreEqual(0f, st[ramp + 10]);
            Assert.AreEqual(1f, st[ramp + 11]);
            Assert.AreEqual(0.5f, st[st.Length - 2], 1e-6);
            Assert.AreEqual(0.8f, st[st.Length - 1], 1e-6);
        }
    }

    [TestFixture]
    public class EpisodeStatsTests
    {
        [Test]
        public void AccumulatesLikeTheTwin()
        {
            var w = WorldDefaults.QuadrantScenario();
            w.Horizon = 10;   // 4 prep steps
            var s = new ArenaSnapshot(w);
            for (var a = 0; a < 4; a++) s.Agents[a].Present = true;
            for (var o = 0; o < 3; o++) s.Objects[o] = new ObjectSnapshot { Present = true, SizeX = 0.5, SizeY = 0.5, LockedTeam = -1, HeldBy = -1 };
            s.Objects[1].Pos = new Vec2(1, 1);
            var tracker = new EpisodeStatsTracker(w);
            tracker.Begin(s);
            var doors = new List<Vec2> { new Vec2(1.2, 1.0) };
            var noGrab = new bool[4];
            for (var t = 1; t <= 10; t++)
            {
                var inPrep = t - 1 < w.PrepSteps;
                s.Step = t;
                if (t == 2) s.Objects[1].Pos = new Vec2(1, 2);   // moved 1 m during prep
                if (t == 3) s.Objects[1].LockedTeam = 0;          // locked next to the door
                if (t == 6) s.Agents[2].Z = 0.5;                  // a seeker climbs on top
                var hidden = t % 2 == 0;
                var r = RewardRule.Compute(!hidden, inPrep, new[] { Team.Hider, Team.Hider, Team.Seeker, Team.Seeker },
                    new[] { true, true, true, true }, new bool[4], 10);
                var grabs = t == 5 ? new[] { true, false, false, false } : noGrab;
                tracker.Add(s, r, hidden, inPrep, grabs, doors);
            }
            var d = tracker.Finish(s);
            CollectionAssert.AreEquivalent(Contract.EpisodeStats, d.Keys.ToArray());
            Assert.AreEqual(3f / 6f, d["hidden_fraction"], 1e-6);
            Assert.AreEqual(0f, d["hider_return"], 1e-6, "3 hidden and 3 seen post-prep steps");
            Assert.AreEqual(1f, d["max_box_displacement_prep"], 1e-6);
            Assert.AreEqual(1f, d["boxes_locked_prep_by_hiders"]);
            Assert.AreEqual(1f, d["boxes_locked_end_by_hiders"]);
            Assert.AreEqual(0f, d["doors_blocked_prep"], "the box moved away from the door before prep ended");
            Assert.AreEqual(5f, d["seeker_on_top_steps"]);
            Assert.AreEqual(0.5f, d["grabs_per_hider"], 1e-6);
            Assert.AreEqual(0f, d["grabs_per_seeker"]);
        }

        [Test]
        public void DoorNextToALockedBoxIsBlocked()
        {
            var w = WorldDefaults.QuadrantScenario();
            var s = new ArenaSnapshot(w);
            s.Objects[0] = new ObjectSnapshot { Present = true, Pos = new Vec2(0.3, 0), SizeX = 0.5, SizeY = 0.5, LockedTeam = 1, HeldBy = -1 };
            var tracker = new EpisodeStatsTracker(w);
            Assert.AreEqual(1.0, tracker.DoorsBlocked(s, new[] { new Vec2(0, 0), new Vec2(2, 2) }));
            s.Objects[0].LockedTeam = -1;
            Assert.AreEqual(0.0, tracker.DoorsBlocked(s, new[] { new Vec2(0, 0) }));
        }
    }

    [TestFixture]
    public class PayloadTests
    {
        [Test]
        public void EncodesTheAgreedLittleEndianLayout()
        {
            var bytes = GlobalStatePayload.Encode(2, 5, new[] { 1.0f, -2.5f });
            var expected = new byte[]
            {
                2, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0,
                0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0,
            };
            CollectionAssert.AreEqual(expected, bytes);
        }

        [Test]
        public void RoundTrips()
        {
            int arena, step;
            float[] state;
            GlobalStatePayload.Decode(GlobalStatePayload.Encode(7, 79, new[] { 0.25f, 3f, -1f }), out arena, out step, out state);
            Assert.AreEqual(7, arena);
            Assert.AreEqual(79, step);
            CollectionAssert.AreEqual(new[] { 0.25f, 3f, -1f }, state);
        }

        [Test]
        public void RejectsNonFiniteValuesAndTruncatedPayloads()
        {
            Assert.Throws<ArgumentException>(() => GlobalStatePayload.Encode(0, 0, new[] { float.NaN }));
            int a, b;
            float[] c;
            Assert.Throws<ArgumentException>(() => GlobalStatePayload.Decode(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0 }, out a, out b, out c));
        }
    }

    [TestFixture]
    public class LayoutTests
    {
        [Test]
        public void SameSeedSameLayout()
        {
            var w = WorldDefaults.QuadrantScenario();
            var a = LayoutGenerator.Generate(w, 42);
            var b = LayoutGenerator.Generate(w, 42);
            Assert.AreEqual(a.Walls.Count, b.Walls.Count);
            for (var i = 0; i < a.Agents.Length; i++) Assert.AreEqual(a.Agents[i].Pos.X, b.Agents[i].Pos.X);
        }

        [Test]
        public void QuadrantRulesHoldForManySeeds()
        {
            var w = WorldDefaults.QuadrantScenario();
            var half = w.FloorSize / 2;
            var x0 = half - w.RoomSize;
            var sawClosedDoor = false;
            for (var seed = 0; seed < 200; seed++)
            {
                var l = LayoutGenerator.Generate(w, seed);
                Assert.LessOrEqual(l.Walls.Count, LayoutGenerator.MaxWalls(w));
                Assert.GreaterOrEqual(l.Doors.Count, 1, "at least one door stays");
                sawClosedDoor |= l.Doors.Count == 1;
                foreach (var box in l.Boxes)
                {
                    Assert.IsTrue(box.Present);
                    Assert.IsTrue(box.Pos.X > x0 && box.Pos.Y > x0, "boxes spawn inside the room, seed " + seed);
                }
                for (var a = w.MaxHiders; a < w.MaxAgents; a++)
                    Assert.IsFalse(l.Agents[a].Pos.X > x0 && l.Agents[a].Pos.Y > x0, "seekers spawn outside the room, seed " + seed);
                foreach (var sp in l.Agents.Concat(l.Ramps))
                    Assert.IsTrue(Math.Abs(sp.Pos.X) < half && Math.Abs(sp.Pos.Y) < half);
            }
            Assert.IsTrue(sawClosedDoor, "doors are removed with probability 0.5");
        }

        [Test]
        public void RandomRoomsCountsStayInRange()
        {
            var w = WorldDefaults.RandomRoomsScenario();
            for (var seed = 0; seed < 100; seed++)
            {
                var l = LayoutGenerator.Generate(w, seed);
                Assert.LessOrEqual(l.Walls.Count, LayoutGenerator.MaxWalls(w));
                var boxes = l.Boxes.Count(b => b.Present);
                Assert.IsTrue(boxes >= 3 && boxes <= 9);
                var elongated = l.Boxes.Count(b => b.Elongated);
                Assert.IsTrue(elongated >= 1 && elongated <= 3);
                Assert.AreEqual(2, l.Ramps.Count(r => r.Present));
            }
        }
    }
}
