using System;
using HideAndSeek.Core;
using Unity.MLAgents.SideChannels;
using UnityEngine;

namespace HideAndSeek
{
    /// <summary>
    /// Unity -> Python side channel with the centralized critic state (channel id in
    /// <see cref="Contract.GlobalStateChannelId"/>): one message per arena each time its agents
    /// request decisions, payload <see cref="GlobalStatePayload"/>, only while the Python side asks
    /// for it (<see cref="GlobalStateRequest"/>). Python reads it with
    /// <c>hideseek.envs.side_channels.GlobalStateChannel</c>.
    /// </summary>
    public class GlobalStateChannel : SideChannel
    {
        /// <summary>
        /// The one registered instance, shared by every <see cref="ArenaBuilder"/> alive: acquiring
        /// it never registers the channel id twice, however Unity orders destruction (a test's
        /// builder may still await its deferred Destroy when the next test's builder starts).
        /// </summary>
        public static readonly SharedRegistration<GlobalStateChannel> Shared = new SharedRegistration<GlobalStateChannel>(
            () => new GlobalStateChannel(), SideChannelManager.RegisterSideChannel, SideChannelManager.UnregisterSideChannel);

        public GlobalStateChannel()
        {
            ChannelId = new Guid(Contract.GlobalStateChannelId);
        }

        public void Send(int arena, int stepInEpisode, float[] state)
        {
            using (var msg = new OutgoingMessage())
            {
                msg.SetRawBytes(GlobalStatePayload.Encode(arena, stepInEpisode, state));
                QueueMessageToSend(msg);
            }
        }

        protected override void OnMessageReceived(IncomingMessage msg)
        {
            Debug.LogWarning("GlobalStateChannel: Python sent a message on the Unity -> Python global state channel; ignored.");
        }
    }
}
