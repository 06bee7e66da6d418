using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;

namespace Avtomat.Ec2.Demo;

/// <summary>
/// The hosted runspace's PSHost. Its only job is progress: PowerShell hands every progress record to the host together
/// with the id of the command that wrote it (<c>WriteProgress(sourceId, record)</c>), which the Progress stream of a
/// <see cref="PowerShell"/> instance drops. In a pipeline of several cmdlets each numbers its own activities from 1
/// (as in any console, where the host tells them apart by that source id), so the demo needs the pair to draw
/// `New-AvSnapshot | Copy-AvSnapshot` correctly. Everything else (output, verbose, warnings, errors) is read from the
/// PowerShell instance's streams; the host ignores it.
/// </summary>
internal sealed class DemoHost : PSHost
{
    private readonly DemoUI _ui = new();

    /// <summary>Where progress records go (null: nowhere).</summary>
    public Action<long, ProgressRecord>? ProgressSink
    {
        get => _ui.ProgressSink;
        set => _ui.ProgressSink = value;
    }

    public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
    public override CultureInfo CurrentUICulture => CultureInfo.GetCultureInfo("en-US");
    public override Guid InstanceId { get; } = Guid.NewGuid();
    public override string Name => "Avtomat.Ec2.Demo";
    public override PSHostUserInterface UI => _ui;
    public override Version Version => new(1, 0);
    public override void EnterNestedPrompt() => throw new NotSupportedException();
    public override void ExitNestedPrompt() => throw new NotSupportedException();
    public override void NotifyBeginApplication() { }
    public override void NotifyEndApplication() { }
    public override void SetShouldExit(int exitCode) { }

    private sealed class DemoUI : PSHostUserInterface
    {
        private readonly RawUI _raw = new();

        public Action<long, ProgressRecord>? ProgressSink { get; set; }

        public override PSHostRawUserInterface RawUI => _raw;
        public override void WriteProgress(long sourceId, ProgressRecord record) => ProgressSink?.Invoke(sourceId, record);

        // Read from the PowerShell instance's streams instead.
        public override void Write(string value) { }
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) { }
        public override void WriteLine(string value) { }
        public override void WriteDebugLine(string message) { }
        public override void WriteErrorLine(string value) { }
        public override void WriteVerboseLine(string message) { }
        public override void WriteWarningLine(string message) { }

        // The demo never prompts (ConfirmImpact Medium, no -Confirm).
        public override string ReadLine() => "";
        public override SecureString ReadLineAsSecureString() => new();
        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => new();
        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice) => defaultChoice;
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) => throw new NotSupportedException();
        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
            PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => throw new NotSupportedException();
    }

    private sealed class RawUI : PSHostRawUserInterface
    {
        public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
        public override Size BufferSize { get; set; } = new(120, 3000);
        public override Coordinates CursorPosition { get; set; }
        public override int CursorSize { get; set; } = 1;
        public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.White;
        public override bool KeyAvailable => false;
        public override Size MaxPhysicalWindowSize => new(120, 50);
        public override Size MaxWindowSize => new(120, 50);
        public override Coordinates WindowPosition { get; set; }
        public override Size WindowSize { get; set; } = new(120, 50);
        public override string WindowTitle { get; set; } = "";
        public override void FlushInputBuffer() { }
        public override BufferCell[,] GetBufferContents(Rectangle rectangle) => new BufferCell[0, 0];
        public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException();
        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
        public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
    }
}
