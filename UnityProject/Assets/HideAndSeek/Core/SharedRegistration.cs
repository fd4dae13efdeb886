using System;

namespace HideAndSeek.Core
{
    /// <summary>
    /// One shared instance registered with a registry that refuses duplicates, used by any number
    /// of owners whose lifetimes overlap (ML-Agents' <c>SideChannelManager</c> throws on a second
    /// channel with the same id, and Unity destroys objects at the end of the frame, so a new scene
    /// object can start before the old one is gone). The first <see cref="Acquire"/> creates the
    /// instance; every Acquire registers it again after unregistering its id (the registry may have
    /// been cleared meanwhile, as <c>Academy.Dispose</c> does); the last <see cref="Release"/>
    /// unregisters it. Nothing depends on the order in which owners are destroyed.
    /// </summary>
    public sealed class SharedRegistration<T> where T : class
    {
        readonly Func<T> m_Create;
        readonly Action<T> m_Register;
        readonly Action<T> m_Unregister;
        T m_Instance;

        public SharedRegistration(Func<T> create, Action<T> register, Action<T> unregister)
        {
            m_Create = create;
            m_Register = register;
            m_Unregister = unregister;
        }

        /// <summary>Owners holding the instance now.</summary>
        public int Users { get; private set; }

        public T Acquire()
        {
            if (m_Instance == null) m_Instance = m_Create();
            m_Unregister(m_Instance);
            m_Register(m_Instance);
            Users++;
            return m_Instance;
        }

        public void Release()
        {
            if (Users == 0)
                throw new InvalidOperationException("SharedRegistration<" + typeof(T).Name + ">.Release without a matching Acquire");
            Users--;
            if (Users > 0) return;
            m_Unregister(m_Instance);
            m_Instance = null;
        }
    }
}
