using System;
using System.Collections.Generic;

namespace HideAndSeek.Core
{
    /// <summary>A straight wall of thickness <c>wall_thickness</c> along its centre line A -> B (arena frame).</summary>
    public struct WallSegment
    {
        public Vec2 A;
        public Vec2 B;

        public WallSegment(Vec2 a, Vec2 b)
        {
            A = a;
            B = b;
        }

        public Vec2 Centre { get { return (A + B) * 0.5; } }
        public double Length { get { return (B - A).Length; } }
        /// <summary>Direction of A -> B as an angle (counter-clockwise from +x).</summary>
        public double Angle { get { return Math.Atan2(B.Y - A.Y, B.X - A.X); } }
    }

    public struct Spawn
    {
        public bool Present;
        public Vec2 Pos;
        public double Theta;
        /// <summary>Boxes only: the 0.5 x 1.5 m variant.</summary>
        public bool Elongated;
    }

    /// <summary>One episode's arena: walls, open doors and where every slot starts.</summary>
    public sealed class ArenaLayout
    {
        public readonly List<WallSegment> Walls = new List<WallSegment>();
        public readonly List<Vec2> Doors = new List<Vec2>();
        public Spawn[] Agents;
        public Spawn[] Boxes;
        public Spawn[] Ramps;
    }

    /// <summary>
    /// Builds episode layouts from a seed with the WORLD.md rules (the same rules as the twin's
    /// <c>sim/layouts.py</c>; the random streams differ, so a seed gives the same layout only
    /// within one simulator). Spawn points are distinct cells of a ~0.6 m grid plus a small jitter.
    /// </summary>
    public static class LayoutGenerator
    {
        public const double Cell = 0.6;

        /// <summary>Wall slots (as <c>WorldConfig.max_walls</c>): 4 outer walls plus the inner pieces (quadrant 2 x 2; random_rooms 3 + 2 + 2).</summary>
        public static int MaxWalls(WorldParams w)
        {
            return w.Scenario == WorldParams.Quadrant ? 8 : 11;
        }

        public static ArenaLayout Generate(WorldParams w, int seed)
        {
            var rng = new Random(seed);
            var layout = new ArenaLayout();
            var half = w.FloorSize / 2;
            var t = w.WallThickness;
            var h = half + t / 2;
            var e = h + t / 2;
            layout.Walls.Add(new WallSegment(new Vec2(-e, -h), new Vec2(e, -h)));
            layout.Walls.Add(new WallSegment(new Vec2(e, h), new Vec2(-e, h)));
            layout.Walls.Add(new WallSegment(new Vec2(-h, -e), new Vec2(-h, e)));
            layout.Walls.Add(new WallSegment(new Vec2(h, e), new Vec2(h, -e)));

            var perSide = Math.Max((int)Math.Floor(w.FloorSize / Cell), 2);
            var cell = w.FloorSize / perSide;
            var cells = new List<Vec2>();
            for (var iy = 0; iy < perSide; iy++)
                for (var ix = 0; ix < perSide; ix++)
                    cells.Add(new Vec2(-half + cell * (ix + 0.5), -half + cell * (iy + 0.5)));

            Func<Vec2, bool> hiderOk, seekerOk, boxOk;
            if (w.Scenario == WorldParams.Quadrant)
            {
                var x0 = half - w.RoomSize;
                QuadrantWalls(w, rng, layout);
                Func<Vec2, bool> inRoom = c => c.X > x0 && c.Y > x0;
                hiderOk = c => true;
                seekerOk = c => !inRoom(c);
                boxOk = c => inRoom(c) && Clearance(layout, c) >= 0.45;
            }
            else
            {
                RandomRoomsWalls(w, rng, layout, cell, perSide);
                var hiderAnchor = cells[rng.Next(cells.Count)];
                var seekerAnchor = cells[rng.Next(cells.Count)];
                hiderOk = c => (c - hiderAnchor).Length <= w.TeamSpawnRadius;
                seekerOk = c => (c - seekerAnchor).Length <= w.TeamSpawnRadius;
                boxOk = c => Clearance(layout, c) >= 0.45;
            }
            Func<Vec2, bool> rampOk = c => Clearance(layout, c) >= 0.6;

            var used = new bool[cells.Count];
            var nBoxes = Sample(rng, w.NBoxes);
            var nElongated = Math.Min(Sample(rng, w.NElongatedBoxes), nBoxes);
            // Boxes first: the quadrant room is the tightest region (a ramp in it could use it up).
            layout.Boxes = new Spawn[w.MaxBoxes];
            for (var b = 0; b < w.MaxBoxes; b++)
            {
                var elongated = b < nElongated;
                var one = Place(rng, cells, used, 1, b < nBoxes ? 1 : 0, boxOk, elongated ? 0.9 : cell + 1e-3);
                layout.Boxes[b] = one[0];
                layout.Boxes[b].Elongated = elongated && one[0].Present;
            }
            layout.Ramps = Place(rng, cells, used, w.MaxRamps, Sample(rng, w.NRamps), rampOk, 0.9);
            var hiders = Place(rng, cells, used, w.MaxHiders, Sample(rng, w.NHiders), hiderOk, 0.0);
            var seekers = Place(rng, cells, used, w.MaxSeekers, Sample(rng, w.NSeekers), seekerOk, 0.0);
            layout.Agents = new Spawn[w.MaxAgents];
            Array.Copy(hiders, 0, layout.Agents, 0, hiders.Length);
            Array.Copy(seekers, 0, layout.Agents, hiders.Length, seekers.Length);
            return layout;
        }

        static int Sample(Random rng, IntRange r)
        {
            return rng.Next(r.Min, r.Max + 1);
        }

        /// <summary>Distance from a point to the nearest wall centre line.</summary>
        public static double Clearance(ArenaLayout layout, Vec2 p)
        {
            var best = double.MaxValue;
            foreach (var wall in layout.Walls) best = Math.Min(best, PointSegmentDistance(p, wall.A, wall.B));
            return best;
        }

        public static double PointSegmentDistance(Vec2 p, Vec2 a, Vec2 b)
        {
            var ab = b - a;
            var len2 = Vec2.Dot(ab, ab);
            var t = len2 > 1e-12 ? Math.Min(Math.Max(Vec2.Dot(p - a, ab) / len2, 0.0), 1.0) : 0.0;
            return (p - (a + ab * t)).Length;
        }

        /// <summary>
        /// Fill <paramref name="slots"/> spawns, the first <paramref name="present"/> of them placed on
        /// free allowed cells (best random score); cells within <paramref name="block"/> of a choice
        /// are used up. Absent slots stay not present.
        /// </summary>
        static Spawn[] Place(Random rng, List<Vec2> cells, bool[] used, int slots, int present,
            Func<Vec2, bool> allowed, double block)
        {
            var result = new Spawn[slots];
            for (var s = 0; s < slots; s++)
            {
                if (s >= present) continue;
                var best = -1;
                var bestScore = double.MinValue;
                for (var c = 0; c < cells.Count; c++)
                {
                    // Disallowed or used cells stay possible as a last resort, like the twin's score - 2.
                    var score = rng.NextDouble() - (allowed(cells[c]) && !used[c] ? 0.0 : 2.0);
                    if (score > bestScore)
                    {
                        bestScore = score;
                        best = c;
                    }
                }
                var chosen = cells[best];
                for (var c = 0; c < cells.Count; c++)
                    if ((cells[c] - chosen).Length <= block + 1e-3) used[c] = true;
                used[best] = true;
                var jitter = new Vec2((rng.NextDouble() - 0.5) * 0.1, (rng.NextDouble() - 0.5) * 0.1);
                result[s] = new Spawn { Present = true, Pos = chosen + jitter, Theta = rng.NextDouble() * 2 * Math.PI - Math.PI };
            }
            return result;
        }

        /// <summary>Splits A -> B at door centres (fractions along it, sorted); a closed door leaves its gap shut.</summary>
        static void WallWithDoors(ArenaLayout layout, Vec2 a, Vec2 b, double[] fractions, bool[] open, double width)
        {
            var length = (b - a).Length;
            var dir = (b - a) * (1.0 / length);
            var cursor = a;
            for (var i = 0; i < fractions.Length; i++)
            {
                if (!open[i]) continue;
                var centre = a + dir * (fractions[i] * length);
                layout.Walls.Add(new WallSegment(cursor, centre - dir * (width / 2)));
                layout.Doors.Add(centre);
                cursor = centre + dir * (width / 2);
            }
            layout.Walls.Add(new WallSegment(cursor, b));
        }

        static void QuadrantWalls(WorldParams w, Random rng, ArenaLayout layout)
        {
            var half = w.FloorSize / 2;
            var t = w.WallThickness;
            var room = w.RoomSize;
            var x0 = half - room;
            var margin = (w.DoorWidth / 2 + t) / room;
            var frac = new[] { margin + rng.NextDouble() * (1 - 2 * margin), margin + rng.NextDouble() * (1 - 2 * margin) };
            var removed = new[] { rng.NextDouble() < w.DoorRemovalProb, rng.NextDouble() < w.DoorRemovalProb };
            if (removed[0] && removed[1]) removed[rng.Next(2)] = false;   // at least one door stays
            WallWithDoors(layout, new Vec2(x0, x0 - t / 2), new Vec2(x0, half), new[] { frac[0] }, new[] { !removed[0] }, w.DoorWidth);
            WallWithDoors(layout, new Vec2(x0 - t / 2, x0), new Vec2(half, x0), new[] { frac[1] }, new[] { !removed[1] }, w.DoorWidth);
        }

        /// <summary>1-4 rooms: a vertical wall with two doors, then a horizontal wall with one door in each part.</summary>
        static void RandomRoomsWalls(WorldParams w, Random rng, ArenaLayout layout, double cell, int perSide)
        {
            var half = w.FloorSize / 2;
            var t = w.WallThickness;
            var rooms = Sample(rng, w.NRooms);
            int lo = perSide / 2 - 2, hi = perSide / 2 + 2, mid = perSide / 2;
            var col = rng.Next(lo, hi + 1);
            var xw = -half + cell * col;
            Func<int, double> centre = idx => -half + cell * (idx + 0.5);
            var full = 2 * half + t;
            if (rooms >= 2)
            {
                var dLow = rng.Next(1, mid - 1 + 1);
                var dHigh = rng.Next(mid, perSide - 2 + 1);
                WallWithDoors(layout, new Vec2(xw, -half - t / 2), new Vec2(xw, half + t / 2),
                    new[] { (centre(dLow) + half + t / 2) / full, (centre(dHigh) + half + t / 2) / full },
                    new[] { true, true }, w.DoorWidth);
            }
            if (rooms >= 3)
            {
                var yl = -half + cell * rng.Next(lo, hi + 1);
                var door = centre(rng.Next(0, Math.Max(col - 1, 0) + 1));
                var start = new Vec2(-half - t / 2, yl);
                var len = xw - start.X;
                WallWithDoors(layout, start, new Vec2(xw, yl), new[] { (door - start.X) / len }, new[] { true }, w.DoorWidth);
            }
            if (rooms >= 4)
            {
                var yr = -half + cell * rng.Next(lo, hi + 1);
                var door = centre(rng.Next(col, perSide - 1 + 1));
                var start = new Vec2(xw, yr);
                var len = half + t / 2 - xw;
                WallWithDoors(layout, start, new Vec2(half + t / 2, yr), new[] { (door - xw) / len }, new[] { true }, w.DoorWidth);
            }
        }
    }
}
