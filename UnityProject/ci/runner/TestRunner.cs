// CI entry point (compiled by UnityProject/ci/check with Mono's mcs, never imported by Unity):
// runs every NUnit [Test] of the EditMode test files against the plain-logic Core assembly, or
// with --dump-contract prints the C# side of the contract as JSON for tests/test_unity_parity.py.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using NUnit.Framework;

namespace HideAndSeek.CI
{
    public static class TestRunner
    {
        public static int Main(string[] args)
        {
            if (args.Length > 0 && args[0] == "--dump-contract")
            {
                Console.WriteLine(ContractDump.Json());
                return 0;
            }
            var filter = args.Length > 0 ? args[0] : null;
            return RunTests(filter);
        }

        static int RunTests(string filter)
        {
            int passed = 0, failed = 0;
            var fixtures = typeof(TestRunner).Assembly.GetTypes()
                .Where(t => t.GetCustomAttributes(typeof(TestFixtureAttribute), false).Length > 0)
                .OrderBy(t => t.FullName, StringComparer.Ordinal);
            foreach (var fixture in fixtures)
            {
                var tests = fixture.GetMethods(BindingFlags.Public | BindingFlags.Instance)
                    .Where(m => m.GetCustomAttributes(typeof(TestAttribute), false).Length > 0)
                    .OrderBy(m => m.Name, StringComparer.Ordinal);
                foreach (var test in tests)
                {
                    var name = fixture.Name + "." + test.Name;
                    if (filter != null && name.IndexOf(filter, StringComparison.Ordinal) < 0) continue;
                    try
                    {
                        var instance = Activator.CreateInstance(fixture);
                        test.Invoke(instance, null);
                        passed++;
                    }
                    catch (TargetInvocationException e)
                    {
                        failed++;
                        var inner = e.InnerException ?? e;
                        Console.WriteLine("FAIL " + name + ": " + inner.GetType().Name + ": " + inner.Message.Trim());
                        var trace = inner.StackTrace ?? "";
                        foreach (var line in trace.Split('\n').Where(l => l.Contains("HideAndSeek")).Take(3))
                            Console.WriteLine("    " + line.Trim());
                    }
                }
            }
            if (passed + failed == 0)
            {
                Console.WriteLine("csharp: no tests matched" + (filter != null ? " '" + filter + "'" : ""));
                return 1;
            }
            Console.WriteLine("csharp: " + passed + " passed, " + failed + " failed");
            return failed == 0 ? 0 : 1;
        }
    }
}
