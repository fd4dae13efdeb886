namespace HideAndSeek.Core
{
    /// <summary>
    /// Which episode of an arena's seed stream the next layout comes from, so that the first
    /// episode a trainer plays is episode 0, as in the twin.
    /// The scene lays out episode 0 at start-up (so there is something to see and observe), but
    /// ML-Agents then resets the environment once more before the first step: the trainer's first
    /// reset command arrives while the Academy initialises, before it subscribes to it, so the
    /// Academy forces a reset at its first step instead (<c>Academy.EnvironmentStep</c>,
    /// <c>m_HadFirstReset</c>). That reset, and the first one after a reseed, re-lays the episode
    /// not yet played (with the parameters the trainer just sent) instead of moving on.
    /// </summary>
    public sealed class EpisodeCounter
    {
        bool m_Unplayed = true;

        /// <summary>Episode index of the current layout in the seed stream.</summary>
        public long Current { get; private set; }

        /// <summary>A new seed: the next layout is episode 0 of its stream.</summary>
        public void Reseed()
        {
            Current = 0;
            m_Unplayed = true;
        }

        /// <summary>An environment reset (a trainer's, or the Academy's first): the episode to lay out.</summary>
        public long OnEnvironmentReset()
        {
            if (m_Unplayed) m_Unplayed = false;
            else Current++;
            return Current;
        }

        /// <summary>The episode ended at its horizon: the next one.</summary>
        public long OnEpisodeEnd()
        {
            m_Unplayed = false;
            Current++;
            return Current;
        }
    }
}
