using System;
using System.Linq;
using System.Management.Automation;
using System.Reflection;

namespace Avtomat.Ec2.Commands;

/// <summary>
/// Marks the property (of type <see cref="PSObject"/>) of a <see cref="StartCmdlet{TRequest,TResult}"/> that receives
/// each pipeline input object as a whole, through the hidden, pipeline-only parameter <c>-InputObject</c>.
/// </summary>
/// <remarks>
/// Why not a plain <c>[Parameter(ValueFromPipeline = true, DontShow = true)]</c>: PowerShell honours DontShow only in
/// tab completion; <c>Get-Command -Syntax</c> and the syntax Get-Help generates list every parameter of a set. So
/// <c>-InputObject</c> is a dynamic parameter, offered only when the command has pipeline input
/// (<c>MyInvocation.ExpectingInput</c>, which PowerShell sets before it binds parameters). Get-Command has no pipeline
/// input and leaves it out; every real pipeline gets it and binds each object to it, as before.
/// </remarks>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PipelineInputAttribute : Attribute
{
}

/// <summary>The dynamic parameter <c>-InputObject</c>: it writes each bound pipeline object through to the cmdlet's
/// <see cref="PipelineInputAttribute"/> property.</summary>
public sealed class PipelineInputParameters
{
    private readonly object _cmdlet;
    private readonly PropertyInfo _target;

    private PipelineInputParameters(object cmdlet, PropertyInfo target)
    {
        _cmdlet = cmdlet;
        _target = target;
    }

    /// <summary>The pipeline object as a whole (hidden; bound only from the pipeline).</summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject
    {
        get => (PSObject?)_target.GetValue(_cmdlet, null);
        set => _target.SetValue(_cmdlet, value, null);
    }

    /// <summary>The parameters for <paramref name="cmdlet"/>, or null when it has no <see cref="PipelineInputAttribute"/>
    /// property.</summary>
    internal static PipelineInputParameters? For(object cmdlet)
    {
        var target = cmdlet.GetType()
            .GetProperties(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            .SingleOrDefault(p => p.IsDefined(typeof(PipelineInputAttribute), inherit: true));
        if (target is null)
        {
            return null;
        }
        if (target.PropertyType != typeof(PSObject) || !target.CanRead || !target.CanWrite)
        {
            throw new InvalidOperationException($"{cmdlet.GetType().Name}.{target.Name}: [PipelineInput] needs a PSObject property with a getter and a setter.");
        }
        return new PipelineInputParameters(cmdlet, target);
    }
}
