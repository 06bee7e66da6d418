namespace Avtomat.Ec2.Engine.Tests.Support;

/// <summary>Tests that drive the engine in virtual time give its workers a moment of real time per clock step; run them
/// alone, not beside the CPU-heavy emulator integration tests, so a loaded machine cannot skew virtual time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class VirtualTimeCollection
{
    public const string Name = "Virtual time";
}
