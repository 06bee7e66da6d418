using System;
using System.Management.Automation;

namespace Avtomat.Ec2.Validation;

/// <summary>The value must be a whole multiple of <see cref="Step"/> (e.g. -CompletionDurationMinutes in steps of 15).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateMultipleOfAttribute : ValidateArgumentsAttribute
{
    public ValidateMultipleOfAttribute(int step)
    {
        if (step <= 0) throw new ArgumentOutOfRangeException(nameof(step));
        Step = step;
    }

    public int Step { get; }

    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        var value = arguments is PSObject pso ? pso.BaseObject : arguments;
        if (value is null)
        {
            return;
        }
        var number = LanguagePrimitives.ConvertTo<long>(value);
        if (number % Step != 0)
        {
            throw new ValidationMetadataException($"The value {number} is not a multiple of {Step}. Use a multiple of {Step}, e.g. {Math.Max(Step, number - number % Step)}.");
        }
    }
}
