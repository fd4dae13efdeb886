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
            s.Agents[0].AngVel = 4.5;
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
            Assert.AreEqual(4.5f / 9f, o[7], 1e-6, "angular velocity over max_torque / angular friction = 9 rad/s");
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
            CollectionAssert.AreEqual(ObsPacker.Self(s, 2), st.Skip(2 * 42 + 1).Take(41).ToArray(),
                "an agent row is present + its whole obs_0, lidar included");
            var box1 = 4 * 42 + 14;
            Assert.AreEqual(1f, st[box1]);
            Assert.AreEqual(0f, st[box1 + 12], "held by a seeker, not a hider");
            Assert.AreEqual(1f, st[box1 + 13]);
            var ramp = 4 * 42 + 28;
            Assert.AreEqual(0f, st[ramp + 10]);
            Assert.AreEqual(1f, st[ramp + 11]);
            Assert.IsTrue(st.Skip(4 * 42 + 3 * 14).Take(8 * 5).All(v => v == 0f), "no walls set: all slots absent");
            Assert.AreEqual(0.5f, st[st.Length - 2], 1e-6);
            Assert.AreEqual(0.8f, st[st.Length - 1], 1e-6);
        }

        [Test]
        public void StateHoldsTheWallSlotsAndZeroesAbsentAgents()
        {
            var s = Snapshot();
            s.Agents[1].Present = false;
            var layout = LayoutGenerator.Generate(s.World, 0, 0);
            s.SetWalls(layout.Walls);
            var st = ObsPacker.State(s);
            Assert.IsTrue(st.Skip(42).Take(42).All(v => v == 0f), "absent agent: all-zero row");
            var walls = 4 * 42 + 3 * 14;
            for (var i = 0; i < layout.Walls.Count; i++)
            {
                var row = st.Skip(walls + 5 * i).Take(5).ToArray();
                var wl = layout.Walls[i];
                if (!wl.Present)
                {
                    Assert.IsTrue(row.All(v => v == 0f), "absent wall slot " + i);
                    continue;
                }
                CollectionAssert.AreEqual(new[] { 1f, (float)(wl.A.X / 6), (float)(wl.A.Y / 6), (float)(wl.B.X / 6), (float)(wl.B.Y / 6) }, row);
            }
            Assert.AreEqual(3.05f / 6f, st[walls + 5 * 3 + 1], 1e-6, "slot 3 is the outer wall at x = +(floor/2 + thickness/2)");
            Assert.Throws<ArgumentException>(() => s.SetWalls(layout.Walls.Take(7).ToList()));
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
            var doors = new List<Door> { new Door(new Vec2(1.2, 1.0), new Vec2(0, 1)) };
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
            Assert.AreEqual(0f, d["room_sealed_prep"]);
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
            var alongY = new Vec2(0, 1);
            var door = new Door(new Vec2(0, 0), alongY);
            Assert.AreEqual(1.0, tracker.DoorsBlocked(s, new[] { door, new Door(new Vec2(2, 2), alongY) }, -1));
            Assert.AreEqual(0.0, tracker.DoorsBlocked(s, new[] { door }, Contract.HiderTeamId),
                "locked by the seekers: blocked, but not sealed by the hiders");
            s.Objects[0].LockedTeam = Contract.HiderTeamId;
            Assert.AreEqual(1.0, tracker.DoorsBlocked(s, new[] { door }, Contract.HiderTeamId));
            s.Objects[0].LockedTeam = -1;
            Assert.AreEqual(0.0, tracker.DoorsBlocked(s, new[] { door }, -1));
        }

        [Test]
        public void ABoxCoveringASliverOfTheGapLeavesTheDoorOpen()
        {
            // The box spans y 1.758..2.258 m beside a gap spanning 2.248..2.648 m: an agent passes.
            var w = WorldDefaults.QuadrantScenario();
            var s = new ArenaSnapshot(w);
            s.Objects[0] = new ObjectSnapshot { Present = true, Pos = new Vec2(-0.35, 2.008), SizeX = 0.5, SizeY = 0.5, LockedTeam = 0, HeldBy = -1 };
            var tracker = new EpisodeStatsTracker(w);
            Assert.AreEqual(0.0, tracker.DoorsBlocked(s, new[] { new Door(new Vec2(0, 2.448), new Vec2(0, 1)) }, -1));
            // Two boxes in a row along the wall, closer than an agent to each other and to both edges: blocked.
            s.Objects[1] = new ObjectSnapshot { Present = true, Pos = new Vec2(-0.35, 2.6), SizeX = 0.5, SizeY = 0.5, LockedTeam = 0, HeldBy = -1 };
            Assert.AreEqual(1.0, tracker.DoorsBlocked(s, new[] { new Door(new Vec2(0, 2.448), new Vec2(0, 1)) }, 0));
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
        public void SameSeedAndEpisodeSameLayoutOtherEpisodeAnother()
        {
            var w = WorldDefaults.QuadrantScenario();
            var a = LayoutGenerator.Generate(w, 42, 0);
            var b = LayoutGenerator.Generate(w, 42, 0);
            var c = LayoutGenerator.Generate(w, 42, 1);
            Assert.AreEqual(a.Walls.Count, b.Walls.Count);
            for (var i = 0; i < a.Agents.Length; i++) Assert.AreEqual(a.Agents[i].Pos.X, b.Agents[i].Pos.X);
            Assert.IsTrue(Enumerable.Range(0, a.Agents.Length).Any(i => a.Agents[i].Pos.X != c.Agents[i].Pos.X));
        }

        [Test]
        public void QuadrantRulesHoldForManySeeds()
        {
            var w = WorldDefaults.QuadrantScenario();
            var half = w.FloorSize / 2;
            var x0 = half - w.RoomSize;
            var sawClosedDoor = false;
            var boxesOutside = 0;
            for (var seed = 0; seed < 200; seed++)
            {
                var l = LayoutGenerator.Generate(w, seed, 0);
                Assert.AreEqual(LayoutGenerator.MaxWalls(w), l.Walls.Count, "one entry per wall slot");
                Assert.GreaterOrEqual(l.Doors.Count, 1, "at least one door stays");
                sawClosedDoor |= l.Doors.Count == 1;
                // A closed door merges its wall: the piece before it is absent, the one after spans the wall.
                for (var wall = 0; wall < 2; wall++)
                {
                    var first = l.Walls[4 + 2 * wall];
                    var second = l.Walls[5 + 2 * wall];
                    Assert.IsTrue(second.Present);
                    if (!first.Present)
                        Assert.AreEqual(w.RoomSize + w.WallThickness / 2, second.Length, 1e-9, "seed " + seed);
                    else
                        Assert.AreEqual(w.RoomSize + w.WallThickness / 2 - w.DoorWidth, first.Length + second.Length, 1e-9);
                }
                Assert.AreEqual(l.Doors.Count, l.Walls.Count(s => s.Present) - 6, "one door per open gap");
                foreach (var box in l.Boxes) Assert.IsTrue(box.Present);
                // Boxes are placed before the ramp, so the room's cells are theirs (the ramp first
                // pushed boxes outside in 5 of these 200 seeds).
                if (l.Boxes.Any(b => !(b.Pos.X > x0 && b.Pos.Y > x0))) boxesOutside++;
                for (var a = w.MaxHiders; a < w.MaxAgents; a++)
                    Assert.IsFalse(l.Agents[a].Pos.X > x0 && l.Agents[a].Pos.Y > x0, "seekers spawn outside the room, seed " + seed);
                foreach (var sp in l.Agents.Concat(l.Ramps))
                    Assert.IsTrue(Math.Abs(sp.Pos.X) < half && Math.Abs(sp.Pos.Y) < half);
            }
            Assert.IsTrue(sawClosedDoor, "doors are removed with probability 0.5");
            Assert.AreEqual(0, boxesOutside, "boxes spawn inside the room");
        }

        [Test]
        public void RandomRoomsCountsStayInRange()
        {
            var w = WorldDefaults.RandomRoomsScenario();
            var rooms = new HashSet<int>();
            for (var seed = 0; seed < 100; seed++)
            {
                var l = LayoutGenerator.Generate(w, seed, 0);
                Assert.AreEqual(LayoutGenerator.MaxWalls(w), l.Walls.Count);
                var boxes = l.Boxes.Count(b => b.Present);
                Assert.IsTrue(boxes >= 3 && boxes <= 9);
                var elongated = l.Boxes.Count(b => b.Elongated);
                Assert.IsTrue(elongated >= 1 && elongated <= 3);
                Assert.AreEqual(2, l.Ramps.Count(r => r.Present));
                // Slots 4-6 the vertical wall (2 doors), 7-8 the left, 9-10 the right wall: all or nothing.
                var built = new[] { l.Walls[4].Present, l.Walls[7].Present, l.Walls[9].Present };
                Assert.AreEqual(built[0], l.Walls[5].Present && l.Walls[6].Present);
                Assert.AreEqual(built[1], l.Walls[8].Present);
                Assert.AreEqual(built[2], l.Walls[10].Present);
                rooms.Add(1 + built.Count(b => b));
                Assert.AreEqual(2 * (built[0] ? 1 : 0) + (built[1] ? 1 : 0) + (built[2] ? 1 : 0), l.Doors.Count);
            }
            CollectionAssert.AreEquivalent(new[] { 1, 2, 3, 4 }, rooms.ToArray(), "1-4 rooms");
        }

        [Test]
        public void RngIsTheTwinsCounterHash()
        {
            // lowbias32 reference values (hideseek/sim/rng.py _hash32).
            Assert.AreEqual(0u, LayoutRng.Hash32(0));
            var rng = new LayoutRng(0, 0);
            var u = rng.Uniform(1000);
            Assert.IsTrue(u.All(v => v >= 0f && v < 1f));
            Assert.AreEqual(0.5, u.Average(), 0.03);
            var ints = new LayoutRng(3, 1).Integers(Enumerable.Repeat(2, 500).ToArray(), Enumerable.Repeat(4, 500).ToArray());
            CollectionAssert.AreEquivalent(new[] { 2, 3, 4 }, ints.Distinct().ToArray(), "inclusive range");
        }
    }
}
