using HideAndSeek.Core;
using Unity.MLAgents;
using Unity.MLAgents.Actuators;
using Unity.MLAgents.Policies;
using Unity.MLAgents.Sensors;
using UnityEngine;
#if HIDESEEK_MLAGENTS_3
using PolicyModel = Unity.Sentis.ModelAsset;
#else
using PolicyModel = Unity.Barracuda.NNModel;
#endif

namespace HideAndSeek
{
    /// <summary>What the factory needs to know about the policies (from the ArenaBuilder's inspector).</summary>
    public struct PolicySettings
    {
        public BehaviorType BehaviorType;
        public PolicyModel HiderModel;
        public PolicyModel SeekerModel;
        public int DecisionPeriod;
    }

    /// <summary>
    /// Builds the scene procedurally: floor, wall slots, boxes, ramps and agents of one arena, all
    /// under the arena's root (whose local frame is the contract's arena frame, centre at the origin).
    /// No scene or prefab YAML is involved.
    /// </summary>
    public static class ArenaFactory
    {
        static Material s_Material;

        static Material DefaultMaterial()
        {
            if (s_Material == null)
            {
                // Borrow the render pipeline's default lit material from a throw-away primitive.
                var probe = GameObject.CreatePrimitive(PrimitiveType.Cube);
                s_Material = probe.GetComponent<Renderer>().sharedMaterial;
                Object.Destroy(probe);
            }
            return s_Material;
        }

        public static void Floor(Transform root, WorldParams w)
        {
            var floor = GameObject.CreatePrimitive(PrimitiveType.Cube);
            floor.name = "Floor";
            floor.transform.SetParent(root, false);
            var size = (float)(w.FloorSize + 2 * w.WallThickness);
            floor.transform.localScale = new Vector3(size, 0.1f, size);
            floor.transform.localPosition = new Vector3(0f, -0.05f, 0f);
            PhysicsCompat.MakeFrictionless(floor.GetComponent<Collider>());
            Palette.Tint(floor.GetComponent<Renderer>(), Palette.Floor);
        }

        /// <summary>A wall slot: a unit cube scaled per episode by <see cref="PlaceWall"/>.</summary>
        public static GameObject WallSlot(Transform root, int index)
        {
            var wall = GameObject.CreatePrimitive(PrimitiveType.Cube);
            wall.name = "Wall_" + index;
            wall.layer = Layers.Wall;
            wall.transform.SetParent(root, false);
            PhysicsCompat.MakeFrictionless(wall.GetComponent<Collider>());
            Palette.Tint(wall.GetComponent<Renderer>(), Palette.Wall);
            wall.SetActive(false);
            return wall;
        }

        /// <summary>Stretch a wall slot along a segment (its centre line), or hide it when unused.</summary>
        public static void PlaceWall(GameObject wall, WallSegment? segment, WorldParams w)
        {
            if (!segment.HasValue || segment.Value.Length < 1e-6)
            {
                wall.SetActive(false);
                return;
            }
            var s = segment.Value;
            var c = s.Centre;
            wall.SetActive(true);
            wall.transform.localPosition = new Vector3((float)c.X, (float)(w.WallHeight / 2), (float)c.Y);
            // The cube's local z runs along the segment: yaw from the segment's angle.
            wall.transform.localRotation = Quaternion.Euler(0f, (float)Frames.UnityYawDegFromTheta(s.Angle), 0f);
            wall.transform.localScale = new Vector3((float)w.WallThickness, (float)w.WallHeight, (float)s.Length);
        }

        public static Pushable Box(HideSeekArena arena, int index, WorldParams w)
        {
            var go = new GameObject("Box_" + index);
            go.layer = Layers.Box;
            go.transform.SetParent(arena.transform, false);
            var visual = GameObject.CreatePrimitive(PrimitiveType.Cube);
            visual.name = "Body";
            visual.layer = Layers.Box;
            visual.transform.SetParent(go.transform, false);
            var p = go.AddComponent<Pushable>();
            p.IsRamp = false;
            p.Index = index;
            Resize(p, visual, w, false);
            var rb = go.AddComponent<Rigidbody>();
            rb.mass = (float)w.BoxMass;
            PhysicsCompat.SetDamping(rb, 0f, 0f);   // drag and floor friction: Pushable.FixedUpdate
            PhysicsCompat.MakeFrictionless(visual.GetComponent<Collider>());
            p.Init(arena, rb, visual.GetComponent<Renderer>());
            return p;
        }

        /// <summary>Boxes are 0.5 x 0.5 m or elongated 0.5 x 1.5 m (along their heading); the pivot is at the base.</summary>
        public static void Resize(Pushable p, GameObject body, WorldParams w, bool elongated)
        {
            p.SizeX = elongated ? w.ElongatedBoxLength : w.BoxSize;
            p.SizeY = w.BoxSize;
            p.Height = (float)w.BoxSize;
            body.transform.localScale = new Vector3((float)p.SizeY, p.Height, (float)p.SizeX);
            body.transform.localPosition = new Vector3(0f, p.Height / 2, 0f);
        }

        public static Pushable Ramp(HideSeekArena arena, int index, int objectIndex, WorldParams w)
        {
            var go = new GameObject("Ramp_" + index);
            go.layer = Layers.Ramp;
            go.transform.SetParent(arena.transform, false);
            var mesh = WedgeMesh((float)w.RampWidth, (float)w.RampLength, (float)w.RampHeight);
            var body = new GameObject("Body");
            body.layer = Layers.Ramp;
            body.transform.SetParent(go.transform, false);
            body.AddComponent<MeshFilter>().sharedMesh = mesh;
            var renderer = body.AddComponent<MeshRenderer>();
            renderer.sharedMaterial = DefaultMaterial();
            var collider = body.AddComponent<MeshCollider>();
            collider.sharedMesh = mesh;
            collider.convex = true;
            PhysicsCompat.MakeFrictionless(collider);
            // Sight and lidar treat a ramp as its whole footprint (the twin's rectangle), not just the slope.
            var sight = new GameObject("Sight");
            sight.layer = Layers.RampSight;
            sight.transform.SetParent(go.transform, false);
            var trigger = sight.AddComponent<BoxCollider>();
            trigger.isTrigger = true;
            trigger.size = new Vector3((float)w.RampWidth, (float)w.WallHeight, (float)w.RampLength);
            trigger.center = new Vector3(0f, (float)w.WallHeight / 2, 0f);
            var p = go.AddComponent<Pushable>();
            p.IsRamp = true;
            p.Index = objectIndex;
            p.SizeX = w.RampLength;
            p.SizeY = w.RampWidth;
            p.Height = (float)w.RampHeight;
            var rb = go.AddComponent<Rigidbody>();
            rb.mass = (float)w.RampMass;
            PhysicsCompat.SetDamping(rb, 0f, 0f);   // drag and floor friction: Pushable.FixedUpdate
            p.Init(arena, rb, renderer);
            return p;
        }

        /// <summary>A wedge rising along +z from height 0 at -length/2 to <paramref name="height"/> at +length/2.</summary>
        public static Mesh WedgeMesh(float width, float length, float height)
        {
            float x = width / 2, z = length / 2;
            var v = new[]
            {
                new Vector3(-x, 0, -z), new Vector3(x, 0, -z), new Vector3(x, 0, z), new Vector3(-x, 0, z),
                new Vector3(-x, height, z), new Vector3(x, height, z),
            };
            var mesh = new Mesh();
            mesh.name = "Ramp";
            mesh.vertices = v;
            mesh.triangles = new[]
            {
                0, 2, 1, 0, 3, 2,   // bottom
                0, 4, 3, 0, 1, 5, 0, 5, 4,   // slope
                3, 4, 5, 3, 5, 2,   // high end
                0, 3, 4, 1, 2, 5,   // sides
            };
            mesh.RecalculateNormals();
            mesh.RecalculateBounds();
            return mesh;
        }

        /// <summary>
        /// One agent, built inactive: Behavior Parameters, sensors and the DecisionRequester are set up
        /// before Agent.OnEnable runs, which happens when the arena activates it (in slot order).
        /// </summary>
        public static HideSeekAgent Agent(HideSeekArena arena, int slot, WorldParams w, PolicySettings policy)
        {
            var layout = new ObsLayout(w);
            var team = layout.TeamOf(slot);
            var go = GameObject.CreatePrimitive(PrimitiveType.Capsule);
            go.SetActive(false);
            go.name = "Arena" + arena.Index + "_" + layout.AgentName(slot);
            go.layer = Layers.Agent;
            go.transform.SetParent(arena.transform, false);
            // A capsule of radius agent_radius and height 0.5 m: the rounded bottom climbs ramp edges.
            var radius = (float)w.AgentRadius;
            go.transform.localScale = new Vector3(2 * radius, 0.25f, 2 * radius);
            var collider = go.GetComponent<Collider>();
            PhysicsCompat.MakeFrictionless(collider);
            var renderer = go.GetComponent<Renderer>();
            Palette.Tint(renderer, Palette.ForTeam((int)team));

            var rb = go.AddComponent<Rigidbody>();
            rb.mass = (float)w.AgentMass;
            // Drag, floor friction and the turn rate come from MovementLaw in HideSeekAgent.FixedUpdate.
            PhysicsCompat.SetDamping(rb, 0f, 0f);
            rb.constraints = RigidbodyConstraints.FreezeRotationX | RigidbodyConstraints.FreezeRotationZ;
            rb.inertiaTensor = Vector3.one * (float)w.AgentInertia;
            rb.inertiaTensorRotation = Quaternion.identity;
            rb.maxAngularVelocity = 50f;

            var bp = go.AddComponent<BehaviorParameters>();
            bp.BehaviorName = team == Team.Hider ? Contract.HiderBehavior : Contract.SeekerBehavior;
            bp.TeamId = team == Team.Hider ? Contract.HiderTeamId : Contract.SeekerTeamId;
            bp.BrainParameters.VectorObservationSize = 0;
            bp.BrainParameters.NumStackedVectorObservations = 1;
            bp.BrainParameters.ActionSpec = ActionSpec.MakeDiscrete(Contract.ActionBranches);
            bp.BehaviorType = policy.BehaviorType;
            bp.Model = team == Team.Hider ? policy.HiderModel : policy.SeekerModel;
            bp.UseChildSensors = false;

            var self = go.AddComponent<SelfSensorComponent>();
            self.ObservationSize = layout.SelfSize;
            var agents = Buffer(go, Contract.SensorNames[1], layout.AgentRows, Contract.AgentColumns.Length);
            var boxes = Buffer(go, Contract.SensorNames[2], layout.BoxRows, Contract.ObjectColumns.Length);
            var ramps = Buffer(go, Contract.SensorNames[3], layout.RampRows, Contract.ObjectColumns.Length);

            var agent = go.AddComponent<HideSeekAgent>();
            agent.FootOffset = 0.25f;
            agent.Bind(arena, slot, team, rb, collider, renderer, self, agents, boxes, ramps);

            var requester = go.AddComponent<DecisionRequester>();
            requester.DecisionPeriod = policy.DecisionPeriod;
            // Forces are applied every physics step from the last decision (HideSeekAgent.FixedUpdate),
            // so OnActionReceived runs once per decision and grab/lock act once per step.
            requester.TakeActionsBetweenDecisions = false;
            return agent;
        }

        static BufferSensorComponent Buffer(GameObject go, string name, int rows, int columns)
        {
            var b = go.AddComponent<BufferSensorComponent>();
            b.SensorName = name;
            b.MaxNumObservables = rows;
            b.ObservableSize = columns;
            return b;
        }
    }
}
