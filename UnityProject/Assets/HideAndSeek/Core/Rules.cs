using System;
using System.Collections.Generic;

namespace HideAndSeek.Core
{
    /// <summary>Episode phase of an arena at step t (steps taken in the episode), as the twin defines it.</summary>
    public struct Phase
    {
        public bool InPrep;
        public float PrepLeft;
        public float EpisodeLeft;

        public static Phase At(int t, WorldParams w)
        {
            var prep = w.PrepSteps;
            return new Phase
            {
                InPrep = t < prep,
                PrepLeft = (float)Math.Max((prep - t) / (double)Math.Max(prep, 1), 0.0),
                EpisodeLeft = (float)((w.Horizon - t) / (double)w.Horizon),
            };
        }
    }

    /// <summary>Discrete action bins to forces and the preparation-phase action mask.</summary>
    public static class ActionMapping
    {
        /// <summary>Bin b of an 11-bin movement branch as a fraction of the maximum: (b - 5) / 5.</summary>
        public static double Unit(int bin)
        {
            if (bin < 0 || bin >= Contract.ActionBranches[0])
                throw new ArgumentOutOfRangeException("bin", bin, "expected 0..10");
            return (bin - Contract.NoMoveBin) / (double)Contract.NoMoveBin;
        }

        /// <summary>
        /// Allowed actions (true = allowed), concatenated over branches. A frozen agent (a seeker
        /// during the prep phase, or an absent slot) may only pick bin 5 of the movement branches
        /// and 0 of grab and lock.
        /// </summary>
        public static bool[] Mask(bool frozen)
        {
            var mask = new List<bool>();
            for (var b = 0; b < Contract.ActionBranches.Length; b++)
            {
                var noop = b < 3 ? Contract.NoMoveBin : 0;
                for (var i = 0; i < Contract.ActionBranches[b]; i++)
                    mask.Add(!frozen || i == noop);
            }
            return mask.ToArray();
        }

        /// <summary>The "do nothing" action.</summary>
        public static int[] Noop()
        {
            return new[] { Contract.NoMoveBin, Contract.NoMoveBin, Contract.NoMoveBin, 0, 0 };
        }

        public static bool IsFrozen(Team team, bool present, Phase phase)
        {
            return !present || (team == Team.Seeker && phase.InPrep);
        }
    }

    /// <summary>The vision rule of WORLD.md: a 135-degree cone, blocked sight lines, raised viewers see over.</summary>
    public static class Vision
    {
        /// <summary>Is <paramref name="target"/> inside the cone of a viewer at <paramref name="eye"/> heading theta?</summary>
        public static bool InCone(Vec2 eye, double theta, Vec2 target, double coneDeg)
        {
            var d = target - eye;
            var dist = d.Length;
            if (dist <= 1e-6) return false;
            var cosHalf = Math.Cos(coneDeg * Math.PI / 180.0 / 2);
            return Vec2.Dot(d, Vec2.FromAngle(theta)) >= cosHalf * dist;
        }

        /// <summary>A viewer standing on top (z at the wall height) sees over every occluder.</summary>
        public static bool IsRaised(double z, double topHeight)
        {
            return z >= topHeight - 1e-3;
        }

        /// <summary>
        /// Final visibility: in the cone, and either raised or no occluder other than the target
        /// itself on the sight line (<paramref name="occludedByOther"/> comes from the raycast).
        /// </summary>
        public static bool Sees(bool inCone, bool viewerRaised, bool occludedByOther)
        {
            return inCone && (viewerRaised || !occludedByOther);
        }

        /// <summary>Lidar reading: hit distance over the range, 1 when nothing is within range.</summary>
        public static float LidarFraction(double? hitDistance, double range)
        {
            if (!hitDistance.HasValue) return 1f;
            return (float)Math.Min(Math.Max(hitDistance.Value / range, 0.0), 1.0);
        }

        /// <summary>Heading of lidar ray i: theta + i * 2 pi / rays.</summary>
        public static double LidarAngle(double theta, int i, int rays)
        {
            return theta + i * (2 * Math.PI / Math.Max(rays, 1));
        }
    }

    /// <summary>An object an agent could grab or lock: its surface gap to the agent and its lock state.</summary>
    public struct ReachCandidate
    {
        public int Object;
        /// <summary>Distance from the agent's surface to the object's surface (m).</summary>
        public double Gap;
        public bool Seen;
        /// <summary>-1 unlocked, 0 hiders, 1 seekers.</summary>
        public int LockedTeam;
        /// <summary>Slot of the agent holding it, -1 none.</summary>
        public int HeldBy;
    }

    /// <summary>Grab and team-lock rules (WORLD.md "Actions", <c>all_lock_team_specific</c>).</summary>
    public static class LockRules
    {
        public const int Unlocked = -1;

        static bool InReach(ReachCandidate c, double distance)
        {
            return c.Seen && c.Gap <= distance;
        }

        /// <summary>
        /// The object an agent asking to grab takes: the nearest seen, unlocked, unheld object whose
        /// surface is within <paramref name="distance"/>; -1 if none.
        /// </summary>
        public static int GrabTarget(IList<ReachCandidate> candidates, double distance)
        {
            var best = -1;
            var bestGap = double.MaxValue;
            foreach (var c in candidates)
            {
                if (!InReach(c, distance) || c.LockedTeam != Unlocked || c.HeldBy >= 0) continue;
                if (c.Gap < bestGap)
                {
                    bestGap = c.Gap;
                    best = c.Object;
                }
            }
            return best;
        }

        /// <summary>
        /// What a lock action does: if the nearest object in reach is locked by the agent's own team,
        /// unlock only that one; otherwise lock every unlocked object in reach. Objects locked by the
        /// other team are never touched. Returns (object, new lock team) pairs.
        /// </summary>
        public static List<KeyValuePair<int, int>> LockChanges(IList<ReachCandidate> candidates, int team, double distance)
        {
            var changes = new List<KeyValuePair<int, int>>();
            var nearest = -1;
            var nearestGap = double.MaxValue;
            for (var i = 0; i < candidates.Count; i++)
            {
                if (!InReach(candidates[i], distance)) continue;
                if (candidates[i].Gap < nearestGap)
                {
                    nearestGap = candidates[i].Gap;
                    nearest = i;
                }
            }
            if (nearest < 0) return changes;
            if (candidates[nearest].LockedTeam == team)
            {
                changes.Add(new KeyValuePair<int, int>(candidates[nearest].Object, Unlocked));
                return changes;
            }
            foreach (var c in candidates)
                if (InReach(c, distance) && c.LockedTeam == Unlocked)
                    changes.Add(new KeyValuePair<int, int>(c.Object, team));
            return changes;
        }

        /// <summary>A locked object cannot move or be grabbed; only its locking team may unlock it.</summary>
        public static bool CanUnlock(int lockedTeam, int team)
        {
            return lockedTeam == team;
        }
    }

    /// <summary>The joint zero-sum reward (WORLD.md "Rewards").</summary>
    public static class RewardRule
    {
        /// <summary>
        /// Per-slot rewards for the step just taken. <paramref name="inPrep"/> is the phase in which
        /// the action was taken; during prep every reward is 0 (the out-of-bounds penalty too).
        /// </summary>
        public static float[] Compute(bool anySeekerSeesHider, bool inPrep, IList<Team> teams, IList<bool> present,
            IList<bool> outOfBounds, double oobPenalty)
        {
            var r = new float[teams.Count];
            if (inPrep) return r;
            for (var i = 0; i < r.Length; i++)
            {
                if (!present[i]) continue;
                var team = TeamReward(teams[i], anySeekerSeesHider);
                r[i] = (float)(team - (outOfBounds[i] ? oobPenalty : 0.0));
            }
            return r;
        }

        /// <summary>
        /// The group reward of a team for the step just taken: its team reward after the prep
        /// phase, 0 during it (WORLD.md: "Each team's reward is also its ML-Agents group reward").
        /// </summary>
        public static float GroupReward(Team team, bool anySeekerSeesHider, bool inPrep)
        {
            return inPrep ? 0f : TeamReward(team, anySeekerSeesHider);
        }

        /// <summary>
        /// The per-agent part of the reward, so that what an agent is paid in total, its own reward
        /// plus its group's reward, is the rule's total (<see cref="Compute"/>): total - group.
        /// ML-Agents' <c>SimpleMultiAgentGroup.AddGroupReward</c> pays every agent registered with the
        /// group, present or not (<paramref name="inGroup"/>), so an absent agent, whose total is 0,
        /// gets -group here. Python adapters add the two parts, as the twin's Unity player pays them.
        /// </summary>
        public static float[] IndividualParts(IList<float> totals, IList<Team> teams, IList<bool> inGroup,
            float hiderGroupReward, float seekerGroupReward)
        {
            var r = new float[totals.Count];
            for (var i = 0; i < r.Length; i++)
            {
                var group = teams[i] == Team.Hider ? hiderGroupReward : seekerGroupReward;
                r[i] = totals[i] - (inGroup[i] ? group : 0f);
            }
            return r;
        }

        /// <summary>The team part (also the ML-Agents group reward): hiders +1 when hidden, else -1; seekers the opposite.</summary>
        public static float TeamReward(Team team, bool anySeekerSeesHider)
        {
            var hiderReward = anySeekerSeesHider ? -1f : 1f;
            return team == Team.Hider ? hiderReward : -hiderReward;
        }

        /// <summary>Outside the floor: |x| or |y| beyond half the floor size (arena frame).</summary>
        public static bool OutOfBounds(Vec2 pos, double floorSize)
        {
            return Math.Abs(pos.X) > floorSize / 2 || Math.Abs(pos.Y) > floorSize / 2;
        }
    }
}
