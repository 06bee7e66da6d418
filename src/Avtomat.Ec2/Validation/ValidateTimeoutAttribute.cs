using System.Management.Automation;

namespace Avtomat.Ec2.Validation;

/// <summary>A timeout in seconds: -1 (wait as long as it takes) or at least 1.</summary>
[System.AttributeUsage(System.AttributeTargets.Property | System.AttributeTargets.Field)]
public sealed class ValidateTimeoutAttribute : ValidateArgumentsAttribute
{
    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        var value = arguments is PSObject pso ? pso.BaseObject : arguments;
        if (value is null)
        {
            return;
        }
        var seconds = LanguagePrimitives.ConvertTo<long>(value);
        if (seconds != -1 && seconds < 1)
        {
            throw new ValidationMetadataException($"The timeout {seconds} is not valid. Use -1 to wait as long as it takes, or a number of seconds of at least 1.");
        }
    }
}
