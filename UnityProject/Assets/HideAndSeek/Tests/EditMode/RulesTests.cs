using System;
using System.Collections.Generic;
using System.Linq;
using HideAndSeek.Core;
using NUnit.Framework;

namespace HideAndSeek.Tests
{
    [TestFixture]
    public class MovementLawTests
    {
        [Test]
        public void FreeBodyReachesTheContractsTopSpeedAndTurnRate()
        {
            var w = WorldDefaults.QuadrantScenario();
            var h = w.PhysicsTimestep;
            var v = new Vec2(0, 0);
            double omega = 0;
            for (var k = 0; k < 200; k++)
            {
                var f = new Vec2(w.MaxForce, 0) + MovementLaw.Drag(v, w.AgentMass, w.AgentFriction)
                        + MovementLaw.FloorFriction(v, w.AgentMass, w, h);
                v = v + f * (h / w.AgentMass);
                omega = MovementLaw.SpinRate(omega, w.MaxTorque, w, h);
            }
            Assert.AreEqual((w.MaxForce / w.AgentMass - w.FloorFriction * w.Gravity) / w.AgentFriction, v.X, 1e-6);
            Assert.AreEqual(w.MaxTorque / w.AgentAngularFriction, omega, 1e-9);
        }

        [Test]
        public void FloorFrictionNeverReversesAndAHolderTurnsSlowerWithItsBox()
        {
            var w = WorldDefaults.QuadrantScenario();
            var slow = new Vec2(0.01, 0);
            var f = MovementLaw.FloorFriction(slow, 1.0, w, 0.015);
            Assert.AreEqual(-slow.X / 0.015, f.X, 1e-12, "stops the body within the step, no further");
            var box = MovementLaw.HeldInertia(1.0, 0.5, 0.5, new Vec2(0.45, 0));
            Assert.AreEqual(0.5 / 12 + 0.2025, box, 1e-12);
            var alone = MovementLaw.SpinRate(0, w.MaxTorque, w, 0.015);
            var held = MovementLaw.SpinRate(0, w.MaxTorque, w.AgentInertia + box, w, 0.015);
            Assert.Less(held, alone);
            Assert.Greater(held, 0.0);
        }
    }

    [TestFixture]
    public class ActionAndFrameTests
    {
        [Test]
        public void MovementBinsMapLinearly()
        {
            Assert.AreEqual(-1.0, ActionMapping.Unit(0), 1e-12);
            Assert.AreEqual(0.0, ActionMapping.Unit(5), 1e-12);
            Assert.AreEqual(0.4, ActionMapping.Unit(7), 1e-12);
            Assert.AreEqual(1.0, ActionMapping.Unit(10), 1e-12);
            Assert.Throws<ArgumentOutOfRangeException>(() => ActionMapping.Unit(11));
        }

        [Test]
        public void FrozenMaskAllowsOnlyTheNoop()
        {
            var mask = ActionMapping.Mask(true);
            Assert.AreEqual(37, mask.Length);
            var allowed = Enumerable.Range(0, mask.Length).Where(i => mask[i]).ToArray();
            // bin 5 of the three movement branches (offsets 0, 11, 22), then grab 0 (33) and lock 0 (35).
            Assert.AreEqual(new[] { 5, 16, 27, 33, 35 }, allowed);
            Assert.IsTrue(ActionMapping.Mask(false).All(m => m));
        }

        [Test]
        public void OnlySeekersInPrepAndAbsentSlotsAreFrozen()
        {
            var w = WorldDefaults.QuadrantScenario();
            Assert.IsTrue(ActionMapping.IsFrozen(Team.Seeker, true, Phase.At(0, w)));
            Assert.IsFalse(ActionMapping.IsFrozen(Team.Hider, true, Phase.At(0, w)));
            Assert.IsFalse(ActionMapping.IsFrozen(Team.Seeker, true, Phase.At(w.PrepSteps, w)));
            Assert.IsTrue(ActionMapping.IsFrozen(Team.Hider, false, Phase.At(50, w)));
        }

        [Test]
        public void PhaseFractionsFollowTheTwin()
        {
            var w = WorldDefaults.QuadrantScenario();   // horizon 80, prep 32 steps
            var p = Phase.At(0, w);
            Assert.IsTrue(p.InPrep);
            Assert.AreEqual(1f, p.PrepLeft);
            Assert.AreEqual(1f, p.EpisodeLeft);
            p = Phase.At(16, w);
            Assert.AreEqual(0.5f, p.PrepLeft, 1e-6);
            Assert.AreEqual(0.8f, p.EpisodeLeft, 1e-6);
            p = Phase.At(32, w);
            Assert.IsFalse(p.InPrep);
            Assert.AreEqual(0f, p.PrepLeft);
            Assert.AreEqual(0f, Phase.At(90, w).PrepLeft);
        }

        [Test]
        public void UnityYawMapsToCounterClockwiseTheta()
        {
            // Unity forward at yaw 0 is +z, the arena's +y: theta = 90 degrees.
            Assert.AreEqual(Math.PI / 2, Frames.ThetaFromUnityYawDeg(0), 1e-12);
            // Yaw 90 faces +x: theta 0.
            Assert.AreEqual(0.0, Frames.ThetaFromUnityYawDeg(90), 1e-12);
            foreach (var yaw in new[] { 0.0, 33.0, 135.0, 270.0, 359.0 })
            {
                var theta = Frames.ThetaFromUnityYawDeg(yaw);
                var forward = new Vec2(Math.Sin(yaw * Math.PI / 180), Math.Cos(yaw * Math.PI / 180));
                Assert.AreEqual(forward.X, Math.Cos(theta), 1e-9);
                Assert.AreEqual(forward.Y, Math.Sin(theta), 1e-9);
                Assert.AreEqual(yaw, Frames.UnityYawDegFromTheta(theta), 1e-9);
            }
            Assert.AreEqual(-2.0, Frames.ThetaRateFromUnity(2.0));
            Assert.AreEqual(-3.0, Frames.UnityTorqueY(3.0));
        }

        [Test]
        public void AnglesWrapIntoHalfOpenInterval()
        {
            Assert.AreEqual(Math.PI, Frames.WrapAngle(-Math.PI), 1e-12);
            Assert.AreEqual(-Math.PI / 2, Frames.WrapAngle(3 * Math.PI / 2), 1e-12);
        }
    }

    [TestFixture]
    public class VisionTests
    {
        [Test]
        public void ConeIs135DegreesWide()
        {
            var eye = new Vec2(0, 0);
            Assert.IsTrue(Vision.InCone(eye, 0, new Vec2(1, 0), 135));
            Assert.IsTrue(Vision.InCone(eye, 0, Vec2.FromAngle(67 * Math.PI / 180), 135));
            Assert.IsFalse(Vision.InCone(eye, 0, Vec2.FromAngle(68 * Math.PI / 180), 135));
            Assert.IsFalse(Vision.InCone(eye, 0, new Vec2(-1, 0), 135));
            Assert.IsTrue(Vision.InCone(eye, Math.PI, new Vec2(-1, 0.1), 135));
            Assert.IsFalse(Vision.InCone(eye, 0, eye, 135), "an entity at the eye is not seen");
        }

        [Test]
        public void RaisedViewersSeeOverOccluders()
        {
            Assert.IsTrue(Vision.IsRaised(0.5, 0.5));
            Assert.IsFalse(Vision.IsRaised(0.3, 0.5));
            Assert.IsFalse(Vision.Sees(true, false, true));
            Assert.IsTrue(Vision.Sees(true, true, true));
            Assert.IsTrue(Vision.Sees(true, false, false));
            Assert.IsFalse(Vision.Sees(false, true, false));
        }

        [Test]
        public void LidarReadsFractionOfRange()
        {
            Assert.AreEqual(1f, Vision.LidarFraction(null, 6));
            Assert.AreEqual(0.5f, Vision.LidarFraction(3.0, 6));
            Assert.AreEqual(1f, Vision.LidarFraction(9.0, 6));
            Assert.AreEqual(Math.PI / 2 + Math.PI, Vision.LidarAngle(Math.PI / 2, 15, 30), 1e-12);
        }

        [Test]
        public void RectangleDistanceAndOverlap()
        {
            var r = new OrientedRect(new Vec2(0, 0), Math.PI / 2, new Vec2(0.75, 0.25));
            Assert.AreEqual(0.0, r.Distance(new Vec2(0, 0.7)), 1e-9, "inside along the rotated long side");
            Assert.AreEqual(0.25, r.Distance(new Vec2(0.5, 0)), 1e-9);
            Assert.IsTrue(r.Overlaps(new OrientedRect(new Vec2(0.4, 0.7), 0, new Vec2(0.2, 0.2))));
            Assert.IsFalse(r.Overlaps(new OrientedRect(new Vec2(0.6, 0), 0, new Vec2(0.2, 0.2))));
        }
    }

    [TestFixture]
    public class LockRuleTests
    {
        static ReachCandidate C(int obj, double gap, int locked = -1, bool seen = true, int heldBy = -1)
        {
            return new ReachCandidate { Object = obj, Gap = gap, LockedTeam = locked, Seen = seen, HeldBy = heldBy };
        }

        [Test]
        public void GrabTakesTheNearestFreeSeenObjectInReach()
        {
            var cands = new[] { C(0, 0.2), C(1, 0.1, locked: 0), C(2, 0.05, seen: false), C(3, 0.15), C(4, 0.01, heldBy: 2), C(5, 0.3) };
            Assert.AreEqual(3, LockRules.GrabTarget(cands, 0.25));
            Assert.AreEqual(-1, LockRules.GrabTarget(new[] { C(0, 0.3) }, 0.25));
        }

        [Test]
        public void LockLocksEveryUnlockedObjectInReach()
        {
            var changes = LockRules.LockChanges(new[] { C(0, 0.1), C(1, 0.2, locked: 1), C(2, 0.2), C(3, 0.4) }, 0, 0.25);
            CollectionAssert.AreEqual(new[] { 0, 2 }, changes.Select(c => c.Key).ToArray());
            Assert.IsTrue(changes.All(c => c.Value == 0));
        }

        [Test]
        public void NearestOwnLockIsUnlockedInstead()
        {
            var changes = LockRules.LockChanges(new[] { C(0, 0.05, locked: 1), C(1, 0.2) }, 1, 0.25);
            Assert.AreEqual(1, changes.Count);
            Assert.AreEqual(0, changes[0].Key);
            Assert.AreEqual(LockRules.Unlocked, changes[0].Value);
        }

        [Test]
        public void OtherTeamsLocksAreNeverTouched()
        {
            var changes = LockRules.LockChanges(new[] { C(0, 0.05, locked: 0) }, 1, 0.25);
            Assert.AreEqual(0, changes.Count);
            Assert.IsFalse(LockRules.CanUnlock(0, 1));
            Assert.IsTrue(LockRules.CanUnlock(1, 1));
        }

        [Test]
        public void UnseenObjectsAreOutOfReach()
        {
            Assert.AreEqual(0, LockRules.LockChanges(new[] { C(0, 0.05, seen: false) }, 0, 0.25).Count);
        }
    }

    [TestFixture]
    public class RewardTests
    {
        static readonly Team[] Teams = { Team.Hider, Team.Hider, Team.Seeker, Team.Seeker };
        static readonly bool[] All = { true, true, true, true };
        static readonly bool[] None = { false, false, false, false };

        [Test]
        public void HiddenHidersWin()
        {
            CollectionAssert.AreEqual(new[] { 1f, 1f, -1f, -1f }, RewardRule.Compute(false, false, Teams, All, None, 10));
        }

        [Test]
        public void SeenHidersLose()
        {
            CollectionAssert.AreEqual(new[] { -1f, -1f, 1f, 1f }, RewardRule.Compute(true, false, Teams, All, None, 10));
        }

        [Test]
        public void PrepPhaseGivesNothingNotEvenThePenalty()
        {
            CollectionAssert.AreEqual(new[] { 0f, 0f, 0f, 0f }, RewardRule.Compute(true, true, Teams, All, All, 10));
        }

        [Test]
        public void OutOfBoundsAddsThePenaltyAndAbsentSlotsGetZero()
        {
            var r = RewardRule.Compute(false, false, Teams, new[] { true, false, true, true },
                new[] { true, false, false, true }, 10);
            CollectionAssert.AreEqual(new[] { -9f, 0f, -1f, -11f }, r);
            Assert.IsTrue(RewardRule.OutOfBounds(new Vec2(3.01, 0), 6));
            Assert.IsFalse(RewardRule.OutOfBounds(new Vec2(2.99, -2.99), 6));
        }

        [Test]
        public void IndividualPlusGroupIsTheRulesTotalForPresentAndAbsentAgents()
        {
            var present = new[] { true, false, true, false };
            var outside = new[] { true, false, false, false };
            var inGroup = new[] { true, true, true, true };
            foreach (var seen in new[] { false, true })
                foreach (var prep in new[] { false, true })
                {
                    var total = RewardRule.Compute(seen, prep, Teams, present, outside, 10);
                    var hider = RewardRule.GroupReward(Team.Hider, seen, prep);
                    var seeker = RewardRule.GroupReward(Team.Seeker, seen, prep);
                    var individual = RewardRule.IndividualParts(total, Teams, inGroup, hider, seeker);
                    for (var i = 0; i < 4; i++)
                        Assert.AreEqual(total[i], individual[i] + (Teams[i] == Team.Hider ? hider : seeker), 1e-6,
                            "slot " + i + ", seen " + seen + ", prep " + prep);
                    Assert.AreEqual(0f, total[1], "absent: nothing in total");
                    Assert.AreEqual(-hider, individual[1], "absent: the group reward reaches it, its own part cancels it");
                }
            // The out-of-bounds hider after prep, hidden: total -9 = individual -10 + group +1 (not 2 x team).
            var r = RewardRule.IndividualParts(RewardRule.Compute(false, false, Teams, present, outside, 10), Teams, inGroup, 1f, -1f);
            Assert.AreEqual(-10f, r[0]);
            Assert.AreEqual(0f, r[2]);
            var outsideGroup = RewardRule.IndividualParts(new[] { 1f, 0f, -1f, 0f }, Teams, new[] { false, false, true, true }, 1f, -1f);
            CollectionAssert.AreEqual(new[] { 1f, 0f, 0f, 1f }, outsideGroup, "an agent outside the group keeps its total");
        }

        [Test]
        public void GroupRewardIsTheTeamPartAfterPrep()
        {
            Assert.AreEqual(0f, RewardRule.GroupReward(Team.Hider, false, true));
            Assert.AreEqual(-1f, RewardRule.GroupReward(Team.Hider, true, false));
        }

        [Test]
        public void GroupRewardIsTheTeamPart()
        {
            Assert.AreEqual(1f, RewardRule.TeamReward(Team.Hider, false));
            Assert.AreEqual(-1f, RewardRule.TeamReward(Team.Seeker, false));
            Assert.AreEqual(1f, RewardRule.TeamReward(Team.Seeker, true));
        }
    }
}

namespace HideAndSeek.Tests
{
    [TestFixture]
    public class StepTimingTests
    {
        [Test]
        public void DefaultTimestepGivesFivePhysicsStepsPerDecision()
        {
            Assert.AreEqual(5, StepTiming.DecisionPeriod(0.075, 0.015));
            Assert.AreEqual(0.075, StepTiming.DecisionSeconds(0.075, 0.015), 1e-12);
            Assert.AreEqual(1, StepTiming.DecisionPeriod(0.005, 0.02));
            Assert.IsTrue(StepTiming.IsDecisionStep(10, 5));
            Assert.IsFalse(StepTiming.IsDecisionStep(11, 5));
            Assert.Throws<ArgumentOutOfRangeException>(() => StepTiming.DecisionPeriod(0.075, 0));
        }
    }
}
