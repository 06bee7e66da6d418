# One Copy-AvSnapshot invocation of the ids in -IdsFile, default options, against an emulator at -Endpoint; run by the
# probe harness (tests/Avtomat.Ec2.Probes) in a pwsh of its own. Every verbose/warning/error line and every result goes
# to -LogFile as it arrives, with a UTC timestamp (flushed at once, so a process killed while hung keeps its log).
# At the end -ResultFile gets a JSON summary: start/end, the results, the "EC2 calls: ..." line and its counts.
param(
    [Parameter(Mandatory)] [string] $Endpoint,
    [Parameter(Mandatory)] [string] $IdsFile,
    [Parameter(Mandatory)] [string] $LogFile,
    [Parameter(Mandatory)] [string] $ResultFile,
    [string] $SourceRegion = 'us-east-1',
    [string] $Region = 'us-west-2',
    # ISO 8601 UTC instant: the module is imported first, then the call waits until then (two processes start together).
    [string] $StartAtUtc,
    [int] $Timeout = 0,
    # Before the start instant: one Copy-AvSnapshot of this id to -WarmUpRegion (not logged as results), so the SDK, STS
    # account lookup and engine code are loaded and JIT-compiled before the measured call (tight start for two runs).
    [string] $WarmUpSnapshotId,
    [string] $WarmUpRegion = 'eu-west-1'
)
$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$env:AWS_EC2_METADATA_DISABLED = 'true'
$root = (Resolve-Path (Join-Path $PSScriptRoot '../../..')).Path
Import-Module (Join-Path $root 'artifacts/module/Avtomat.Ec2/Avtomat.Ec2.psd1') -ErrorAction Stop

$ids = @(Get-Content -LiteralPath $IdsFile | Where-Object { $_ })
$log = [System.IO.StreamWriter]::new($LogFile, $true)
$log.AutoFlush = $true
function Write-Log([string] $Kind, [string] $Text) { $log.WriteLine(('{0} {1} {2}' -f [DateTime]::UtcNow.ToString('o'), $Kind, $Text)) }

if ($WarmUpSnapshotId) {
    $warm = Copy-AvSnapshot -SnapshotId $WarmUpSnapshotId -SourceRegion $SourceRegion -Region $WarmUpRegion -EndpointUrl $Endpoint -AccessKey 'AKIDPROBE' -SecretKey 'probe-secret'
    Write-Log WARMUP "$WarmUpSnapshotId -> $($warm.SnapshotId) ($WarmUpRegion) $($warm.State)"
}
if ($StartAtUtc) {
    $at = [DateTime]::Parse($StartAtUtc, [cultureinfo]::InvariantCulture, [System.Globalization.DateTimeStyles]'AdjustToUniversal,AssumeUniversal')
    $wait = $at - [DateTime]::UtcNow
    if ($wait -gt [TimeSpan]::Zero) { Start-Sleep -Milliseconds ([int]$wait.TotalMilliseconds) }
}

$params = @{
    SnapshotId = $ids; SourceRegion = $SourceRegion; Region = $Region
    EndpointUrl = $Endpoint; AccessKey = 'AKIDPROBE'; SecretKey = 'probe-secret'
}
if ($Timeout -gt 0) { $params.Timeout = $Timeout }
$results = [System.Collections.Generic.List[object]]::new()
$errors = 0; $warnings = 0
$statsLine = $null
$start = [DateTime]::UtcNow
Write-Log START "Copy-AvSnapshot of $($ids.Count) sources $SourceRegion -> $Region (pid $PID)"
Copy-AvSnapshot @params -Verbose 4>&1 3>&1 2>&1 | ForEach-Object {
    $record = $_
    switch ($record) {
        { $_ -is [System.Management.Automation.VerboseRecord] } {
            if ($record.Message -like 'EC2 calls:*') { $statsLine = $record.Message }
            Write-Log VERBOSE $record.Message; break
        }
        { $_ -is [System.Management.Automation.WarningRecord] } { $warnings++; Write-Log WARNING $record.Message; break }
        { $_ -is [System.Management.Automation.ErrorRecord] } { $errors++; Write-Log ERROR "$($record.FullyQualifiedErrorId): $($record.Exception.Message)"; break }
        default {
            $received = [DateTime]::UtcNow
            $results.Add([pscustomobject]@{
                SourceSnapshotId = $record.SourceSnapshotId; SnapshotId = $record.SnapshotId; State = "$($record.State)"
                Reused = [bool]$record.Reused; StartTime = $record.StartTime; CompletionTime = $record.CompletionTime
                ReceivedUtc = $received
            })
            Write-Log RESULT "$($record.SourceSnapshotId) -> $($record.SnapshotId) $($record.State) reused=$($record.Reused)"
        }
    }
}
$end = [DateTime]::UtcNow
Write-Log END "returned after $(($end - $start).TotalSeconds) s"
$log.Dispose()

function Get-Count([string] $Name) {
    if ($statsLine -match ($Name + ' (\d+)')) { [int]$Matches[1] } else { $null }
}
[pscustomobject]@{
    Pid = $PID
    StartUtc = $start.ToString('o'); EndUtc = $end.ToString('o'); Seconds = ($end - $start).TotalSeconds
    Results = $results; Errors = $errors; Warnings = $warnings
    StatsLine = $statsLine
    DuplicatesRemoved = Get-Count 'duplicates removed'; Retries = Get-Count 'retries'; LimitHits = Get-Count 'limit hits'
    Uncertain = Get-Count 'uncertain outcomes'; Throttled = Get-Count 'throttled'
} | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $ResultFile -Encoding utf8
