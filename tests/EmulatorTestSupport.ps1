# Shared set-up for the Pester files: dot-source it in BeforeAll (`. (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1')`)
# and call Stop-AvTestEmulator in AfterAll. It imports the built module, starts the EC2 emulator program on a free port
# with fast fixed durations, and defines helpers that drive the emulator's control API.
# Dot-sourced, so $script: below is the calling test file's script scope. -SkipModuleImport: only the emulator and the
# helpers (the package test imports the installed module by name, in processes of its own).
param([switch] $SkipModuleImport)

$script:RepoRoot = Split-Path -Parent $PSScriptRoot
$script:ManifestPath = Join-Path $RepoRoot 'artifacts/module/Avtomat.Ec2/Avtomat.Ec2.psd1'
$env:AWS_EC2_METADATA_DISABLED = 'true'
if (-not $SkipModuleImport) { Import-Module -Name $ManifestPath -Force -ErrorAction Stop }

function script:Start-AvTestEmulator([string] $Arguments = '') {
    # The emulator program prints its base URL alone on the first line of standard output. AVTOMAT_EC2_EMULATOR names
    # the built Avtomat.Ec2.Emulator.dll (tests/Avtomat.Ec2.Pester.Tests sets it); else `dotnet run` builds and runs it.
    $start = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    # Arguments as one string: ProcessStartInfo.ArgumentList does not exist in Windows PowerShell's .NET Framework.
    if ($env:AVTOMAT_EC2_EMULATOR) {
        $start.Arguments = '"{0}" --port 0 {1}' -f $env:AVTOMAT_EC2_EMULATOR, $Arguments
    }
    else {
        $start.Arguments = 'run --project "{0}" -- --port 0 {1}' -f (Join-Path $RepoRoot 'tests/Avtomat.Ec2.Emulator'), $Arguments
    }
    $start.RedirectStandardOutput = $true
    $start.UseShellExecute = $false
    $script:Emulator = [System.Diagnostics.Process]::Start($start)
    $url = $Emulator.StandardOutput.ReadLine()
    if ($url -notmatch '^http://127\.0\.0\.1:\d+/$') { throw "The emulator did not start: '$url'" }
    $url
}

function script:Stop-AvTestEmulator {
    if ($Emulator -and -not $Emulator.HasExited) {
        # `dotnet run` starts the emulator as a child process: end the whole tree.
        if ($PSVersionTable.PSEdition -eq 'Core') { $Emulator.Kill($true) } else { & taskkill.exe /PID $Emulator.Id /T /F | Out-Null }
    }
    Remove-Module -Name Avtomat.Ec2 -Force -ErrorAction SilentlyContinue
}

function script:Invoke-Emulator([string] $Path, [string] $Method = 'GET', $Body) {
    $params = @{ Uri = "$($Url)_emulator/$Path"; Method = $Method; ContentType = 'application/json' }
    if ($null -ne $Body) { $params.Body = $Body | ConvertTo-Json -Depth 10 }
    Invoke-RestMethod @params
}

function script:Reset-Emulator([double] $CopySeconds = 0.3, [string[]] $InaccessibleKeys = @()) {
    Invoke-Emulator reset POST | Out-Null
    $config = Invoke-Emulator config
    $config.durations.copy.kind = 'Fixed'
    $config.durations.copy.seconds = $CopySeconds
    $config.durations.snapshot.kind = 'Fixed'
    $config.durations.snapshot.seconds = $CopySeconds
    $config.faults.inaccessibleKmsKeys = @($InaccessibleKeys)
    Invoke-Emulator config PUT $config | Out-Null
}

# New-Snapshot and New-Volume return their ids as one string array, whatever the count, so `$ids[0]` is always an id.
# A function's output is unrolled: `@(...)` alone would hand back a single id as a bare string (`$ids[0]` = 's'), so the
# comma operator wraps the array and the caller receives the array itself. Piping the call (`New-Volume 2 | ...`) sends
# that array as one input object, which binds to a [string[]] parameter like the ids piped one by one.
function script:New-Snapshot([int] $Count = 1, [string] $Region = 'us-east-1', [hashtable] $Tags, [string] $Description) {
    $body = @{ region = $Region; snapshots = $Count }
    if ($Tags) { $body.tags = $Tags }
    if ($Description) { $body.description = $Description }
    , [string[]] @((Invoke-Emulator seed POST $body).snapshotIds)
}

function script:New-Volume([int] $Count = 1, [string] $Region = 'us-east-1', [hashtable] $Tags, [string] $NamePrefix) {
    $body = @{ region = $Region; volumes = $Count; availabilityZone = "$($Region)a" }
    if ($Tags) { $body.tags = $Tags }
    if ($NamePrefix) { $body.namePrefix = $NamePrefix }
    , [string[]] @((Invoke-Emulator seed POST $body).volumeIds)
}

function script:New-Instance([int] $Count = 1, [int] $DataVolumes = 1, [string] $State = 'running') {
    Invoke-Emulator seed POST @{ region = 'us-east-1'; instances = $Count; dataVolumesPerInstance = $DataVolumes; instanceState = $State; availabilityZone = 'us-east-1a' }
}

function script:Get-Stats { Invoke-Emulator stats }

function script:Get-CopyCount([string] $Region) {
    $total = 0
    foreach ($source in (Get-Stats).copiesPerSource.PSObject.Properties) {
        $n = $source.Value.$Region
        if ($n) { $total += $n }
    }
    $total
}

# A test file may set $EmulatorArguments before dot-sourcing this (e.g. '--Accounts:AKID 111111111111' per account).
$script:Url = Start-AvTestEmulator ('--Config:Durations:Copy:Kind Fixed --Config:Durations:Copy:Seconds 0.3 --Config:Durations:Snapshot:Kind Fixed --Config:Durations:Snapshot:Seconds 0.3 ' + (Get-Variable -Name EmulatorArguments -Scope Script -ValueOnly -ErrorAction Ignore))
$script:SecretKey = 'pester-secret-do-not-print'
$script:Aws = @{ EndpointUrl = $Url; AccessKey = 'AKIDPESTER'; SecretKey = $SecretKey }
$script:Account = '123456789012'
$script:Missing = 'snap-0000000000000000a'
# The module writes U+2192 (right arrow); spelled as a code point so this file stays ASCII (Windows PowerShell reads BOM-less files as ANSI).
$script:Arrow = [char]0x2192
