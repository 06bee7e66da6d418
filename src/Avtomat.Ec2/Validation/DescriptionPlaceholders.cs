using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace Avtomat.Ec2.Validation;

/// <summary>The {Placeholders} of a -Description template that the cmdlet does not know (they are kept as written).</summary>
internal static class DescriptionPlaceholders
{
    private static readonly Regex Token = new(@"\{[^{}\s]+\}", RegexOptions.CultureInvariant);

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
