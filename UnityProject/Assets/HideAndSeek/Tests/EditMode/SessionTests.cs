using System;
using System.Collections.Generic;
using HideAndSeek.Core;
using NUnit.Framework;

namespace HideAndSeek.Tests
{
    [TestFixture]
    public class EpisodeCounterTests
    {
        [Test]
        public void TheAcademysFirstResetKeepsEpisodeZero()
        {
            var c = new EpisodeCounter();
            Assert.AreEqual(0, c.Current, "start-up layout");
            Assert.AreEqual(0, c.OnEnvironmentReset(), "the first reset re-lays episode 0 instead of skipping it");
            Assert.AreEqual(1, c.OnEpisodeEnd());
            Assert.AreEqual(2, c.OnEnvironmentReset(), "later resets move on, as the twin's reset does");
        }

        [Test]
        public void AReseedStartsTheStreamAgain()
        {
            var c = new EpisodeCounter();
            c.OnEnvironmentReset();
            c.OnEpisodeEnd();
            c.Reseed();
            Assert.AreEqual(0, c.OnEnvironmentReset());
            Assert.AreEqual(1, c.OnEpisodeEnd());
        }

        [Test]
        public void AnEpisodeEndBeforeAnyResetStillMovesOn()
        {
            var c = new EpisodeCounter();
            Assert.AreEqual(1, c.OnEpisodeEnd());
            Assert.AreEqual(2, c.OnEnvironmentReset());
        }
    }

    [TestFixture]
    public class SharedRegistrationTests
    {
        /// <summary>A registry with SideChannelManager's rules: one entry per id, unregistering an absent id is a no-op.</summary>
        sealed class Registry
        {
            public readonly HashSet<string> Ids = new HashSet<string>();
            public int Registrations;

            public void Register(string id)
            {
                if (!Ids.Add(id)) throw new InvalidOperationException("already registered: " + id);
                Registrations++;
            }

            public void Unregister(string id)
            {
                Ids.Remove(id);
            }
        }

        [Test]
        public void OverlappingOwnersNeverRegisterTwiceAndTheLastReleaseUnregisters()
        {
            var registry = new Registry();
            var created = 0;
            var shared = new SharedRegistration<string>(() => "channel-" + created++, registry.Register, registry.Unregister);
            var first = shared.Acquire();
            // The next test's builder starts before the previous one's deferred Destroy ran.
            var second = shared.Acquire();
            Assert.AreSame(first, second);
            Assert.AreEqual(1, created);
            shared.Release();
            Assert.IsTrue(registry.Ids.Contains(first), "still used by the second owner");
            shared.Release();
            Assert.AreEqual(0, registry.Ids.Count);
            Assert.AreEqual(0, shared.Users);
            Assert.Throws<InvalidOperationException>(() => shared.Release());
        }

        [Test]
        public void ReRegistersAfterTheRegistryWasCleared()
        {
            var registry = new Registry();
            var shared = new SharedRegistration<string>(() => "channel", registry.Register, registry.Unregister);
            shared.Acquire();
            registry.Ids.Clear();   // what Academy.Dispose does to the side channels
            shared.Acquire();
            Assert.IsTrue(registry.Ids.Contains("channel"));
        }
    }

    [TestFixture]
    public class GlobalStateRequestTests
    {
        [Test]
        public void SentOnlyWhenThePythonSideAsks()
        {
            var parameters = new Dictionary<string, float>();
            Func<string, float, float> get = (key, fallback) => parameters.ContainsKey(key) ? parameters[key] : fallback;
            Assert.IsFalse(GlobalStateRequest.IsRequested(get), "mlagents-learn sets nothing: no messages");
            parameters[Contract.GlobalStateRequestKey] = 1f;
            Assert.IsTrue(GlobalStateRequest.IsRequested(get));
            parameters[Contract.GlobalStateRequestKey] = 0f;
            Assert.IsFalse(GlobalStateRequest.IsRequested(get));
            Assert.AreEqual("hideseek_global_state", Contract.GlobalStateRequestKey);
        }
    }
}
