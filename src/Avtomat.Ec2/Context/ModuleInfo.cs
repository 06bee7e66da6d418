using System.Reflection;

namespace Avtomat.Ec2.Context;

/// <summary>The module's name and version, as they appear in each request's User-Agent.</summary>
internal static class ModuleInfo
{
    public const string Name = "Avtomat.Ec2";

    /// <summary>Major.Minor.Build of the module assembly (the manifest's ModuleVersion, e.g. 0.1.0).</summary>
    public static string Version { get; } = ReadVersion();

    /// <summary>E.g. <c>Avtomat.Ec2/0.1.0</c>.</summary>
    public static string UserAgentComponent => $"{Name}/{Version}";

    private static string ReadVersion()
    {
        var v = typeof(ModuleInfo).Assembly.GetName().Version;
        return v == null ? "0.0.0" : $"{v.Major}.{v.Minor}.{System.Math.Max(v.Build, 0)}";
    }
}
