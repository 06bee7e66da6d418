# One Wait-AvSnapshot invocation of -SnapshotId in -Region against an emulator at -Endpoint; run by the probe harness
# (tests/Avtomat.Ec2.Probes) in a pwsh of its own. Lines go to -LogFile as they arrive; -ResultFile gets a JSON summary.
param(
    [Parameter(Mandatory)] [string] $Endpoint,
    [Parameter(Mandatory)] [string[]] $SnapshotId,
    [Parameter(Mandatory)] [string] $LogFile,
    [Parameter(Mandatory)] [string] $ResultFile,
    [string] $Region = 'us-east-1',
    [int] $Timeout = 0
)
$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$env:AWS_EC2_METADATA_DISABLED = 'true'
$root = (Resolve-Path (Join-Path $PSScriptRoot '../../..')).Path
Import-Module (Join-Path $root 'artifacts/module/Avtomat.Ec2/Avtomat.Ec2.psd1') -ErrorAction Stop
# -File passes one string for a [string[]]: accept a comma-separated list.
$ids = @($SnapshotId -split ',' | Where-Object { $_ })
$log = [System.IO.StreamWriter]::new($LogFile, $true)
$log.AutoFlush = $true
function Write-Log([string] $Kind, [string] $Text) { $log.WriteLine(('{0} {1} {2}' -f [DateTime]::UtcNow.ToString('o'), $Kind, $Text)) }

$params = @{ SnapshotId = $ids; Region = $Region; EndpointUrl = $Endpoint; AccessKey = 'AKIDPROBE'; SecretKey = 'probe-secret' }
if ($Timeout -gt 0) { $params.Timeout = $Timeout }
$results = [System.Collections.Generic.List[object]]::new()
$errorIds = [System.Collections.Generic.List[string]]::new()
$statsLine = $null
$start = [DateTime]::UtcNow
Write-Log START "Wait-AvSnapshot $($ids -join ',') in $Region timeout=$Timeout (pid $PID)"
Wait-AvSnapshot @params -Verbose 4>&1 3>&1 2>&1 | ForEach-Object {
    $record = $_
    switch ($record) {
        { $_ -is [System.Management.Automation.VerboseRecord] } {
            if ($record.Message -like 'EC2 calls:*') { $statsLine = $record.Message }
            Write-Log VERBOSE $record.Message; break
        }
        { $_ -is [System.Management.Automation.WarningRecord] } { Write-Log WARNING $record.Message; break }
        { $_ -is [System.Management.Automation.ErrorRecord] } {
            $errorIds.Add($record.FullyQualifiedErrorId)
            Write-Log ERROR "$($record.FullyQualifiedErrorId): $($record.Exception.Message)"; break
        }
        default {
            $results.Add([pscustomobject]@{ SnapshotId = $record.SnapshotId; State = "$($record.State)"; StatusMessage = $record.StatusMessage
                ReceivedSeconds = ([DateTime]::UtcNow - $start).TotalSeconds })
            Write-Log RESULT "$($record.SnapshotId) $($record.State) $($record.StatusMessage)"
        }
    }
}
$end = [DateTime]::UtcNow
Write-Log END "returned after $(($end - $start).TotalSeconds) s"
$log.Dispose()
[pscustomobject]@{
    StartUtc = $start.ToString('o'); EndUtc = $end.ToString('o'); Seconds = ($end - $start).TotalSeconds
    Results = $results; ErrorIds = $errorIds; StatsLine = $statsLine
} | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $ResultFile -Encoding utf8
