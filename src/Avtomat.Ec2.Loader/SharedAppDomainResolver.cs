using System;
using System.IO;
using System.Reflection;

namespace Avtomat.Ec2.Loader;

/// <summary>Windows PowerShell 5.1 (.NET Framework, one load context): resolves what the module folder's
/// <c>Dependencies/</c> holds, preferring an assembly the session already loaded (AWS.Tools' AWSSDK 4.x, a newer
/// polyfill) so one session never holds two copies of one identity.</summary>
internal static class SharedAppDomainResolver
{
    private static readonly object Gate = new();
    private static string? _directory;
    private static bool _registered;

    public static void Register(string dependencyDirectory)
    {
        lock (Gate)
        {
            _directory = dependencyDirectory;
            if (_registered) return;
            AppDomain.CurrentDomain.AssemblyResolve += Resolve;
            _registered = true;
        }
    }

    public static void Unregister()
    {
        lock (Gate)
        {
            if (!_registered) return;
            AppDomain.CurrentDomain.AssemblyResolve -= Resolve;
            _registered = false;
        }
    }

    private static Assembly? Resolve(object? sender, ResolveEventArgs args)
    {
        var directory = _directory;
        if (directory is null) return null;
        var name = new AssemblyName(args.Name);
        if (string.IsNullOrEmpty(name.Name)) return null;
        var path = Path.Combine(directory, name.Name + ".dll");
        if (!File.Exists(path)) return null;
        return AlreadyLoaded(name) ?? Assembly.LoadFrom(path);
    }

    /// <summary>A loaded assembly of that name that serves the request: an AWSSDK of the same major version (4.x: the
    /// wire protocol and model are one line), anything else of at least the version asked for.</summary>
    private static Assembly? AlreadyLoaded(AssemblyName wanted)
    {
        var isSdk = wanted.Name!.StartsWith("AWSSDK.", StringComparison.OrdinalIgnoreCase);
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            var loaded = assembly.GetName();
            if (!string.Equals(loaded.Name, wanted.Name, StringComparison.OrdinalIgnoreCase) || loaded.Version is null) continue;
            if (wanted.Version is null) return assembly;
            if (isSdk ? loaded.Version.Major == wanted.Version.Major : loaded.Version >= wanted.Version) return assembly;
        }
        return null;
    }
}
