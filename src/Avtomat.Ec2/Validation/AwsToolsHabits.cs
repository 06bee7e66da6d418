using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using Avtomat.Ec2.Errors;

namespace Avtomat.Ec2.Validation;

/// <summary>
/// AWS.Tools habits the cmdlets cannot keep, turned into errors that say what to type instead.
/// <para>Copy-EC2Snapshot's -Encrypted and New-EC2Snapshot's -DryRun take a Boolean; here they are switches. PowerShell
/// binds "-Encrypted $true" as the switch and passes $true on to the next free positional parameter (-Description,
/// -SourceRegion, -SnapshotId …), or fails with PositionalParameterNotFound when none is free; "-Encrypted $false" even
/// turns encryption on. <see cref="FindSwitchWithValue"/> finds such a switch in the command's own text.</para>
/// </summary>
internal static class AwsToolsHabits
{
    /// <summary>The error id of a switch written with a separate Boolean value.</summary>
    public const string SwitchWithValueId = "SwitchWithValue";

    /// <summary>Switches whose AWS.Tools namesake takes a Boolean ("cmdlet -Switch" → the AWS.Tools cmdlet).</summary>
    private static readonly Dictionary<string, string> BooleanInAwsTools = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Copy-AvSnapshot -Encrypted"] = "Copy-EC2Snapshot",
        ["New-AvSnapshot -DryRun"] = "New-EC2Snapshot",
    };

    /// <summary>The switch of <paramref name="commandName"/> whose AWS.Tools namesake takes a Boolean (Copy-AvSnapshot:
    /// Encrypted, New-AvSnapshot: DryRun), for hints that must name a switch the command has.</summary>
    public static string BooleanSwitchOf(string commandName) =>
        BooleanInAwsTools.Keys.FirstOrDefault(k => k.StartsWith(commandName + " -", StringComparison.OrdinalIgnoreCase)) is { } key
            ? key.Substring(commandName.Length + 2)
            : "DryRun";

    /// <summary>A switch of <paramref name="command"/> written as "-Switch $true" (or with a variable holding a Boolean),
    /// found in the invocation's own text; null when there is none or the text is not available (PowerShell 5.1 gives
    /// only the first line of a command).</summary>
    public static (string Switch, bool Value, string Text)? FindSwitchWithValue(InvocationInfo invocation, CommandInfo command, SessionState state)
    {
        if (invocation is null || command is null) return null;
        // PowerShell 7 has InvocationInfo.Statement (the command's whole text); 5.1 only Line (its first line).
        var statement = PSObject.AsPSObject(invocation).Properties["Statement"]?.Value as string;
        var text = string.IsNullOrWhiteSpace(statement) ? invocation.Line : statement;
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            var ast = Parser.ParseInput(text, out _, out _);
            var commands = ast.FindAll(a => a is CommandAst, searchNestedScriptBlocks: true).Cast<CommandAst>()
                .Where(c => string.Equals(c.GetCommandName(), invocation.InvocationName, StringComparison.OrdinalIgnoreCase)).ToList();
            var mine = string.IsNullOrWhiteSpace(statement)
                ? commands.FirstOrDefault(c => c.Extent.StartColumnNumber == invocation.OffsetInLine)
                : commands.FirstOrDefault();
            if (mine is null) return null;
            var elements = mine.CommandElements;
            for (var i = 1; i < elements.Count - 1; i++)
            {
                if (elements[i] is not CommandParameterAst { Argument: null } parameter) continue;
                var name = ResolveSwitch(command, parameter.ParameterName);
                if (name is null) continue;
                if (BooleanValue(elements[i + 1], state) is { } value)
                {
                    return (name, value, $"-{parameter.ParameterName} {elements[i + 1].Extent.Text}");
                }
            }
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            // Only a hint: never fail a command because its text could not be read.
        }
        return null;
    }

    /// <summary>The terminating error for a switch written with a value (InvalidArgument, the value as target).</summary>
    public static ErrorRecord SwitchWithValue(string commandName, (string Switch, bool Value, string Text) found)
    {
        var (name, value, text) = found;
        var literal = value ? "$true" : "$false";
        var habit = BooleanInAwsTools.TryGetValue($"{commandName} -{name}", out var awsTools) ? $" (in {awsTools} it takes a Boolean)" : "";
        var effect = value
            ? $"PowerShell binds the switch and passes {literal} on to the next positional parameter (for example -Description)"
            : $"PowerShell binds the switch, so '{text}' would turn -{name} ON, and passes {literal} on to the next positional parameter";
        var instead = value
            ? $"Type -{name} alone (or -{name}:$true)."
            : $"Leave -{name} out (or type -{name}:$false).";
        var message = $"-{name} is a switch in {commandName}{habit}: {effect}. {instead}";
        return ErrorRecordFactory.InvalidParameter(SwitchWithValueId, name, value, message, instead);
    }

    /// <summary>The text a validation message adds when a Boolean landed on a parameter by position.</summary>
    public static string BooleanHint(object? value) =>
        $"A Boolean ({(true.Equals(value) ? "$true" : "$false")}) landed on this parameter by position: a switch written with a value, such as "
        + "-Encrypted $true or -DryRun $true (Booleans in Copy-EC2Snapshot and New-EC2Snapshot), does that in PowerShell. "
        + "Type the switch alone (-Encrypted) or with a colon (-Encrypted:$true); leave it out for false.";

    /// <summary>The terminating error for an AWS.Tools parameter this module does not have (NotImplemented, the value as
    /// target, what to type instead as the message's second half and the recommended action).</summary>
    public static ErrorRecord NotSupported(string parameterName, object? value, string commandName, string why, string instead)
    {
        var message = $"-{parameterName} (AWS.Tools) is not supported by {commandName}: {why} {instead}";
        var record = new ErrorRecord(new PSNotSupportedException(message), $"{parameterName}NotSupported", ErrorCategory.NotImplemented, value)
        {
            ErrorDetails = new ErrorDetails(message) { RecommendedAction = instead },
        };
        return record;
    }

    /// <summary>The name of the switch parameter <paramref name="typed"/> stands for (its name, an alias or a unique
    /// prefix), or null when it is not a switch of <paramref name="command"/>.</summary>
    private static string? ResolveSwitch(CommandInfo command, string typed)
    {
        var parameters = command.Parameters;
        if (parameters is null) return null;
        ParameterMetadata? match = null;
        foreach (var p in parameters.Values)
        {
            if (p.Name.Equals(typed, StringComparison.OrdinalIgnoreCase) || p.Aliases.Contains(typed, StringComparer.OrdinalIgnoreCase))
            {
                match = p;
                break;
            }
        }
        if (match is null)
        {
            var prefixed = parameters.Values.Where(p => p.Name.StartsWith(typed, StringComparison.OrdinalIgnoreCase)).ToList();
            if (prefixed.Count == 1) match = prefixed[0];
        }
        return match is not null && match.SwitchParameter ? match.Name : null;
    }

    /// <summary>$true, $false, or a variable that holds a Boolean; null for anything else (a positional value after a
    /// switch is normal PowerShell: "-NoWait snap-0123…").</summary>
    private static bool? BooleanValue(CommandElementAst element, SessionState state)
    {
        if (element is not VariableExpressionAst variable) return null;
        var name = variable.VariablePath.UserPath;
        if (name.Equals("true", StringComparison.OrdinalIgnoreCase)) return true;
        if (name.Equals("false", StringComparison.OrdinalIgnoreCase)) return false;
        try
        {
            var value = state?.PSVariable.GetValue(name);
            return (value is PSObject pso ? pso.BaseObject : value) is bool b ? b : null;
        }
        catch (Exception e) when (e is not PipelineStoppedException)
        {
            return null;
        }
    }
}

/// <summary>Rejects a Boolean bound to a string parameter before validation runs, with <see cref="AwsToolsHabits.BooleanHint"/>:
/// "Copy-AvSnapshot snap-… -Encrypted $true" would otherwise say that 'True' is not a region name.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class RejectBooleanAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        if (value is bool)
        {
            throw new ArgumentTransformationMetadataException(AwsToolsHabits.BooleanHint(value));
        }
        if (value is IList list && list.Count == 1 && (list[0] is PSObject p ? p.BaseObject : list[0]) is bool single)
        {
            throw new ArgumentTransformationMetadataException(AwsToolsHabits.BooleanHint(single));
        }
        return inputData;
    }
}
