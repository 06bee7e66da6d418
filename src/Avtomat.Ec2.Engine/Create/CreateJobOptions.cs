namespace Avtomat.Ec2.Engine.Create;

/// <summary>Settings of one New-AvSnapshot invocation.</summary>
public sealed class CreateJobOptions : StartJobOptions
{
}
