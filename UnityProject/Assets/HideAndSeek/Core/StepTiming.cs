using System;

namespace HideAndSeek.Core
{
    /// <summary>How one contract step (<c>dt</c>) maps onto Unity's fixed physics steps.</summary>
    public static class StepTiming
    {
        /// <summary>
        /// Physics steps per decision: round(dt / fixedDeltaTime), at least 1. ML-Agents steps the
        /// Academy once per FixedUpdate and the DecisionRequester asks for a decision every this many.
        /// </summary>
        public static int DecisionPeriod(double dt, double fixedDeltaTime)
        {
            if (fixedDeltaTime <= 0)
                throw new ArgumentOutOfRangeException("fixedDeltaTime", fixedDeltaTime, "a positive fixed timestep");
            return Math.Max(1, (int)Math.Round(dt / fixedDeltaTime));
        }

        /// <summary>The world time one decision really spans; differs from dt when dt is no multiple of the timestep.</summary>
        public static double DecisionSeconds(double dt, double fixedDeltaTime)
        {
            return DecisionPeriod(dt, fixedDeltaTime) * fixedDeltaTime;
        }

        /// <summary>True when the academy step <paramref name="academyStep"/> is a decision step (DecisionStep 0).</summary>
        public static bool IsDecisionStep(int academyStep, int period)
        {
            return academyStep % period == 0;
        }
    }
}
