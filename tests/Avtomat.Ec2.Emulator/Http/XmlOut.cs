using System.Globalization;
using System.Security;
using System.Text;

namespace Avtomat.Ec2.Emulator.Http;

/// <summary>Minimal writer for EC2's response XML (no namespaces on children, lists as wrapper + &lt;item&gt;), and STS's.</summary>
internal sealed class XmlOut
{
    public const string Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/";
    private readonly StringBuilder _sb = new();

    public XmlOut Open(string name) { _sb.Append('<').Append(name).Append('>'); return this; }
    public XmlOut Close(string name) { _sb.Append("</").Append(name).Append('>'); return this; }

    public XmlOut Element(string name, string? value)
    {
        if (value is null) return this;
        _sb.Append('<').Append(name).Append('>').Append(SecurityElement.Escape(value)).Append("</").Append(name).Append('>');
        return this;
    }

    public XmlOut Element(string name, bool value) => Element(name, value ? "true" : "false");
    public XmlOut Element(string name, long? value) => value is null ? this : Element(name, value.Value.ToString(CultureInfo.InvariantCulture));
    public XmlOut Element(string name, DateTimeOffset? value) => value is null ? this : Element(name, FormatTime(value.Value));

    /// <summary>An empty list element, e.g. <c>&lt;tagSet/&gt;</c>.</summary>
    public XmlOut Empty(string name) { _sb.Append('<').Append(name).Append("/>"); return this; }

    /// <summary><c>&lt;tagSet&gt;&lt;item&gt;&lt;key/&gt;&lt;value/&gt;&lt;/item&gt;…&lt;/tagSet&gt;</c>; omitted when there are no tags.</summary>
    public XmlOut TagSet(IEnumerable<KeyValuePair<string, string>> tags)
    {
        var list = tags.ToList();
        if (list.Count == 0) return this;
        Open("tagSet");
        foreach (var (k, v) in list) Open("item").Element("key", k).Element("value", v).Close("item");
        return Close("tagSet");
    }

    /// <summary>ISO-8601 UTC with milliseconds, as EC2 writes times.</summary>
    public static string FormatTime(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A whole response document: the XML declaration, then <paramref name="root"/> (in <paramref name="xmlns"/>
    /// when given) around <paramref name="body"/>.</summary>
    public static string Document(string root, string? xmlns, Action<XmlOut> body)
    {
        var x = new XmlOut();
        x._sb.Append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x._sb.Append('<').Append(root);
        if (xmlns is not null) x._sb.Append(" xmlns=\"").Append(xmlns).Append('"');
        x._sb.Append('>');
        body(x);
        return x.Close(root)._sb.ToString();
    }

    public static string Success(string action, string requestId, Action<XmlOut> body) =>
        Document(action + "Response", Namespace, x =>
        {
            x.Element("requestId", requestId);
            body(x);
        });

    public static string Error(string code, string message, string requestId) =>
        Document("Response", null, x => x.Open("Errors").Open("Error").Element("Code", code).Element("Message", message)
            .Close("Error").Close("Errors").Element("RequestID", requestId));
}
