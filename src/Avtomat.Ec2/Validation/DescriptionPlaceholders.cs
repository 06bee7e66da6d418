using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Text.RegularExpressions;
using Avtomat.Ec2.Engine.Copy;
using Avtomat.Ec2.Errors;

namespace Avtomat.Ec2.Validation;

/// <summary>The {Placeholders} of a -Description template that the cmdlet does not know (they are kept as written).</summary>
internal static class DescriptionPlaceholders
{
    private static readonly Regex Token = new(@"\{[^{}\s]+\}", RegexOptions.CultureInvariant);

    /// <summary>The error id of a -Description longer than EC2 allows.</summary>
    public const string TooLongId = "DescriptionTooLong";

    /// <summary>Null when <paramref name="expanded"/> (the description as far as it is known before any call: known
    /// placeholders filled in, the others at their shortest, so a longer description is never sent) fits EC2's limit; else the InvalidArgument error, with the
    /// -Description as target. <paramref name="forWhat"/> names what it was filled in for ("snap-… from us-east-1"),
    /// null when the template alone is too long.</summary>
    public static ErrorRecord? TooLong(string? template, string expanded, string? forWhat = null)
    {
        if (template is null || expanded.Length <= DescriptionTemplate.MaxLength) return null;
        var length = template == expanded ? $"{expanded.Length} characters long"
            : forWhat is null ? $"at least {expanded.Length} characters long with its placeholders filled in,"
            : $"{expanded.Length} characters long with its placeholders filled in for {forWhat},";
        var message = $"-Description is {length} but EC2 allows at most {DescriptionTemplate.MaxLength} characters " +
                      "in a snapshot's description, so nothing was sent for it.";
        var action = $"Shorten -Description to {DescriptionTemplate.MaxLength} characters or fewer " +
                     $"({expanded.Length - DescriptionTemplate.MaxLength} fewer; placeholders count as the text they are replaced by).";
        return ErrorRecordFactory.InvalidParameter(TooLongId, "Description", template, $"{message} {action}", action);
    }

    /// <summary>The warning for <paramref name="template"/>'s unknown placeholders (case matters), or null.</summary>
    public static string? Warning(string? template, IReadOnlyCollection<string> known)
    {
        if (string.IsNullOrEmpty(template)) return null;
        var unknown = Token.Matches(template!).Cast<Match>().Select(m => m.Value)
            .Where(t => !known.Contains(t, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
        if (unknown.Count == 0) return null;
        var near = unknown.Select(t => known.FirstOrDefault(k => string.Equals(k, t, StringComparison.OrdinalIgnoreCase)) is { } k ? $"{t} (did you mean {k}?)" : t);
        return $"-Description has {string.Join(", ", near)}, which {(unknown.Count == 1 ? "is not a placeholder" : "are not placeholders")}: " +
               $"kept as written. The placeholders are {string.Join(", ", known)} (case matters).";
    }
}
