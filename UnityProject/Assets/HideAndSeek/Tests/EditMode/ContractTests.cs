using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using HideAndSeek.Core;
using NUnit.Framework;

namespace HideAndSeek.Tests
{
    // Written against the NUnit API subset shared by Unity's Test Framework (NUnit 3) and Debian's
    // NUnit 2.6 that CI uses, so the same file runs in both.
    [TestFixture]
    public class ContractTests
    {
        [Test]
        public void SensorNamesSortIntoObservationOrder()
        {
            var shuffled = new List<string> { Contract.SensorNames[2], Contract.SensorNames[0], Contract.SensorNames[3], Contract.SensorNames[1] };
            CollectionAssert.AreEqual(Contract.SensorNames, SensorOrder.Sort(shuffled));
        }

        [Test]
        public void SensorOrderDoesNotDependOnTheCurrentCulture()
        {
            var original = Thread.CurrentThread.CurrentCulture;
            try
            {
                foreach (var culture in new[] { "da-DK", "tr-TR", "en-US" })
                {
                    Thread.CurrentThread.CurrentCulture = new CultureInfo(culture);
                    var reversed = new List<string>(Contract.SensorNames);
                    reversed.Reverse();
                    CollectionAssert.AreEqual(Contract.SensorNames, SensorOrder.Sort(reversed), culture);
                }
            }
            finally
            {
                Thread.CurrentThread.CurrentCulture = original;
            }
        }

        [Test]
        public void TheAgentsOwnVectorSensorWouldSortLast()
        {
            // Why CollectObservations' built-in sensor stays off: its fixed name sorts after ours,
            // so enabling it would append an obs_4 instead of reordering obs_0..obs_3.
            var names = new List<string>(Contract.SensorNames) { "VectorSensor_size41" };
            names.Reverse();
            var sorted = SensorOrder.Sort(names);
            Assert.AreEqual("VectorSensor_size41", sorted[4]);
            Assert.AreEqual(Contract.SensorNames[0], sorted[0]);
        }

        [Test]
        public void QuadrantLayoutShapes()
        {
            var l = new ObsLayout(WorldDefaults.QuadrantScenario());
            Assert.AreEqual(41, l.SelfSize);
            Assert.AreEqual(new[] { 3, 10 }, l.ObsShapes[1]);
            Assert.AreEqual(new[] { 2, 14 }, l.ObsShapes[2]);
            Assert.AreEqual(new[] { 1, 14 }, l.ObsShapes[3]);
            Assert.AreEqual(37, l.ActionMaskSize);
            // WORLD.md "Centralized critic input": agents (present + obs_0), boxes, ramps, 8 wall slots, globals.
            Assert.AreEqual(4 * 42 + 2 * 14 + 1 * 14 + 8 * 5 + 2, l.StateSize);
            Assert.AreEqual("walls", l.StateBlocks[3].Name);
            Assert.AreEqual("lidar_29", l.StateAgentColumns[41]);
            Assert.AreEqual("lidar_29", l.SelfColumns[40]);
            Assert.AreEqual("seeker_1", l.AgentName(3));
            Assert.AreEqual(Team.Seeker, l.TeamOf(2));
        }

        [Test]
        public void EmptyBuffersKeepOneRow()
        {
            var w = WorldDefaults.QuadrantScenario();
            w.NRamps = IntRange.Of(0);
            w.NHiders = IntRange.Of(1);
            w.NSeekers = IntRange.Of(1);
            var l = new ObsLayout(w);
            Assert.AreEqual(1, l.ObsShapes[3][0]);
            Assert.AreEqual(1, l.ObsShapes[1][0]);
            Assert.AreEqual(0, l.StateBlocks[2].Rows);
        }

        [Test]
        public void EnvironmentKeysSplitRanges()
        {
            var keys = WorldParamFields.EnvironmentKeys();
            Assert.Contains("n_boxes_min", keys);
            Assert.Contains("n_boxes_max", keys);
            Assert.Contains("horizon", keys);
            Assert.Contains("num_arenas", keys);
            Assert.IsFalse(keys.Contains("n_boxes"));
        }
    }

    [TestFixture]
    public class WorldParamsTests
    {
        static Func<string, float, float> From(Dictionary<string, float> values)
        {
            return (key, fallback) => values.ContainsKey(key) ? values[key] : fallback;
        }

        [Test]
        public void CompiledDefaultsPassTheirOwnChecks()
        {
            foreach (var name in WorldParams.Scenarios) WorldDefaults.For(name).Check(name);
        }

        [Test]
        public void RandomRoomsDiffersWhereTheYamlSays()
        {
            var w = WorldDefaults.RandomRoomsScenario();
            Assert.AreEqual(240, w.Horizon);
            Assert.AreEqual(3, w.NBoxes.Min);
            Assert.AreEqual(9, w.NBoxes.Max);
            Assert.AreEqual(2, w.MaxRamps);
            Assert.AreEqual(96, w.PrepSteps);
        }

        [Test]
        public void ReadKeepsDefaultsForMissingKeys()
        {
            var d = WorldDefaults.QuadrantScenario();
            var p = WorldParamFields.Read(d, From(new Dictionary<string, float>()));
            Assert.AreEqual(d.FloorSize, p.FloorSize);
            Assert.AreEqual(0.075, p.Dt);   // exactly, not the float32 0.075000003
            Assert.AreEqual(d.NBoxes.Max, p.NBoxes.Max);
        }

        [Test]
        public void ReadAppliesFloatsIntsRangesAndScenario()
        {
            var p = WorldParamFields.Read(WorldDefaults.QuadrantScenario(), From(new Dictionary<string, float>
            {
                { "horizon", 120f }, { "max_force", 20f }, { "n_boxes_min", 1f }, { "scenario", 1f },
            }));
            Assert.AreEqual(120, p.Horizon);
            Assert.AreEqual(20.0, p.MaxForce, 1e-6);
            Assert.AreEqual(1, p.NBoxes.Min);
            Assert.AreEqual(2, p.NBoxes.Max);
            Assert.AreEqual(WorldParams.RandomRooms, p.Scenario);
        }

        [Test]
        public void ReadRejectsNonIntegerCountsNamingTheKey()
        {
            var e = Assert.Throws<WorldParamsException>(() => WorldParamFields.Read(WorldDefaults.QuadrantScenario(),
                From(new Dictionary<string, float> { { "horizon", 80.5f } })));
            Assert.AreEqual("horizon", e.Key);
            StringAssert.Contains("an integer", e.Message);
        }

        [Test]
        public void ReadRejectsOutOfBoundsValues()
        {
            var e = Assert.Throws<WorldParamsException>(() => WorldParamFields.Read(WorldDefaults.QuadrantScenario(),
                From(new Dictionary<string, float> { { "prep_fraction", 1.0f } })));
            Assert.AreEqual("prep_fraction", e.Key);
            StringAssert.Contains("< 1", e.Message);
        }

        [Test]
        public void ReadRejectsInvertedRanges()
        {
            var e = Assert.Throws<WorldParamsException>(() => WorldParamFields.Read(WorldDefaults.QuadrantScenario(),
                From(new Dictionary<string, float> { { "n_boxes_min", 3f } })));
            Assert.AreEqual("n_boxes", e.Key);
        }

        [Test]
        public void FrozenKeysKeepTheirStartupValue()
        {
            var frozen = new HashSet<string>(WorldParamFields.StartupOnlyKeys);
            var p = WorldParamFields.Read(WorldDefaults.QuadrantScenario(),
                From(new Dictionary<string, float> { { "n_boxes_max", 5f }, { "horizon", 90f } }), frozen);
            Assert.AreEqual(2, p.NBoxes.Max);
            Assert.AreEqual(90, p.Horizon);
        }

        [Test]
        public void CrossFieldRulesMatchThePythonChecks()
        {
            var w = WorldDefaults.QuadrantScenario();
            w.DoorWidth = 0.2;
            var e = Assert.Throws<WorldParamsException>(() => w.Check("test"));
            Assert.AreEqual("door_width", e.Key);
            w = WorldDefaults.QuadrantScenario();
            w.NElongatedBoxes = IntRange.Of(3);
            Assert.AreEqual("n_elongated_boxes", Assert.Throws<WorldParamsException>(() => w.Check("test")).Key);
        }
    }
}
