#Requires -Version 5.1
<#
.SYNOPSIS
    Builds, tests, demonstrates and packages Avtomat.Ec2 with the same dotnet commands CI uses.
.DESCRIPTION
    Build   : dotnet build; MSBuild lays out the importable module in artifacts/module/Avtomat.Ec2.
    Test    : dotnet build Avtomat.Ec2.sln && dotnet test Avtomat.Ec2.sln --no-build -m:4 (the README's test command),
              which also runs the Pester files tests/*.Tests.ps1, each in a fresh pwsh 7.6.9 from the tool manifest
              .config/dotnet-tools.json with the pinned Pester.
    Demo    : runs samples/Avtomat.Ec2.Demo when it exists (emulator + hosted PowerShell), else starts the emulator.
    Package : builds Release, stages the module folder with LICENSE and the CHANGELOG section of its version as the
              manifest's ReleaseNotes, and publishes it with Publish-PSResource (PSResourceGet, run in the pinned pwsh
              7.6.9) to the file repository artifacts/package/repository as Avtomat.Ec2.<version>.nupkg; also zips the
              staged folder to artifacts/package/Avtomat.Ec2-<version>.zip. -NoBuild packages the module folder already
              built; -OutputPath puts all of it elsewhere.
    ImportTime : Import-Module time of each -ModulePath manifest (default: the built module), the median of 10 fresh
              processes of this same PowerShell, the manifests interleaved so they share the machine's state.
.EXAMPLE
    ./build.ps1 -Task Test
.EXAMPLE
    dotnet tool restore; dotnet tool run pwsh -- -File build.ps1 -Task Test

    Without a pwsh of your own: the same, in the pwsh the repository pins.
.EXAMPLE
    dotnet tool restore; dotnet tool run pwsh -- -File build.ps1 -Task Package

    The package, on a machine without pwsh: dotnet build src/Avtomat.Ec2 --configuration Release, then the packaging.
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Demo', 'Package', 'ImportTime')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # ImportTime: the module manifests to time.
    [string[]] $ModulePath = @('artifacts/module/Avtomat.Ec2/Avtomat.Ec2.psd1'),

    # Package: package the module folder artifacts/module/Avtomat.Ec2 as it is built (no dotnet build first).
    [switch] $NoBuild,

    # Package: where the staged module, the file repository with the .nupkg and the zip go.
    [string] $OutputPath = 'artifacts/package'
)

$ErrorActionPreference = 'Stop'
Set-Location -LiteralPath $PSScriptRoot

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

function Measure-ImportTime([string[]] $Manifests, [int] $Runs = 10) {
    # This PowerShell again: a pwsh executable, or dotnet running pwsh.dll (the dotnet tool).
    $exe = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    $entry = @()
    if ([System.IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $entry = @([System.Reflection.Assembly]::GetEntryAssembly().Location) }
    $times = @{}
    foreach ($manifest in $Manifests) { $times[$manifest] = [System.Collections.Generic.List[double]]::new() }
    for ($i = 0; $i -lt $Runs; $i++) {
        foreach ($manifest in $Manifests) {
            $path = (Resolve-Path -LiteralPath $manifest).Path
            $command = "`$s = [Diagnostics.Stopwatch]::StartNew(); Import-Module -Name '$path'; `$s.Elapsed.TotalMilliseconds.ToString([cultureinfo]::InvariantCulture)"
            $ms = & $exe @entry -NoProfile -NonInteractive -Command $command
            $times[$manifest].Add([double]::Parse(@($ms)[-1], [cultureinfo]::InvariantCulture))
        }
    }
    foreach ($manifest in $Manifests) {
        $sorted = @($times[$manifest] | Sort-Object)
        $median = if ($sorted.Count % 2) { $sorted[[int][math]::Floor($sorted.Count / 2)] } else { ($sorted[$sorted.Count / 2 - 1] + $sorted[$sorted.Count / 2]) / 2 }
        [pscustomobject]@{ Manifest = $manifest; MedianMs = [math]::Round($median, 1); MinMs = [math]::Round($sorted[0], 1); MaxMs = [math]::Round($sorted[-1], 1); Runs = $sorted.Count }
    }
}

function Get-ChangelogSection([string] $Path, [string] $Version) {
    # The text under '## [VERSION]' (Keep a Changelog), up to the next '## ' heading or the link definitions at the end.
    $lines = [System.IO.File]::ReadAllText($Path) -split '\r?\n'
    $heading = '## [' + $Version + ']'
    $start = -1
    for ($i = 0; $i -lt $lines.Count; $i++) {
        if ($lines[$i] -eq $heading -or $lines[$i].StartsWith($heading + ' ')) { $start = $i + 1; break }
    }
    if ($start -lt 0) { throw "$Path has no section '$heading': add the release notes of version $Version before packaging it." }
    $section = [System.Collections.Generic.List[string]]::new()
    for ($i = $start; $i -lt $lines.Count; $i++) {
        if ($lines[$i].StartsWith('## ') -or $lines[$i] -match '^\[[^\]]+\]:\s') { break }
        $section.Add($lines[$i])
    }
    $text = ($section -join "`n").Trim()
    if (-not $text) { throw "The section '$heading' of $Path is empty." }
    $text
}

function Set-ManifestReleaseNotes([string] $Path, [string] $ReleaseNotes) {
    # Replaces the one ReleaseNotes = '...' line of the manifest (a single-quoted string, '' inside) with the notes.
    $text = [System.IO.File]::ReadAllText($Path)
    $pattern = [regex] "(?m)^(?<lead>[ \t]*ReleaseNotes[ \t]*=[ \t]*)'(?:[^']|'')*'"
    $found = $pattern.Matches($text).Count
    if ($found -ne 1) { throw "$Path has $found ReleaseNotes = '...' entries, expected one." }
    $quoted = "'" + $ReleaseNotes.Replace("'", "''") + "'"
    $text = $pattern.Replace($text, [System.Text.RegularExpressions.MatchEvaluator] { param($m) $m.Groups['lead'].Value + $quoted })
    # With a byte order mark: Windows PowerShell reads a manifest without one as ANSI.
    [System.IO.File]::WriteAllText($Path, $text, [System.Text.UTF8Encoding]::new($true))
}

function Publish-ModulePackage([string] $ModuleDir, [string] $OutputDir) {
    $manifest = Join-Path $ModuleDir 'Avtomat.Ec2.psd1'
    if (-not (Test-Path -LiteralPath $manifest)) { throw "No module folder at ${ModuleDir}: build it first (dotnet build src/Avtomat.Ec2 --configuration Release)." }
    # The built folder carries the root manifest unchanged: a different one is a stale build (-NoBuild after an edit).
    if ([System.IO.File]::ReadAllText($manifest) -ne [System.IO.File]::ReadAllText((Join-Path $PSScriptRoot 'Avtomat.Ec2.psd1'))) {
        throw "$manifest differs from Avtomat.Ec2.psd1: build again (dotnet build src/Avtomat.Ec2 --configuration Release)."
    }
    $version = (Import-PowerShellDataFile -LiteralPath $manifest).ModuleVersion
    $notes = Get-ChangelogSection -Path (Join-Path $PSScriptRoot 'CHANGELOG.md') -Version $version

    # Staged: the built folder, LICENSE, and the manifest with the CHANGELOG section as its ReleaseNotes.
    $null = New-Item -ItemType Directory -Force -Path $OutputDir
    $OutputDir = (Resolve-Path -LiteralPath $OutputDir).Path
    $staging = Join-Path $OutputDir 'staging'
    $staged = Join-Path $staging 'Avtomat.Ec2'
    if (Test-Path -LiteralPath $staging) { Remove-Item -LiteralPath $staging -Recurse -Force }
    $null = New-Item -ItemType Directory -Force -Path $staging
    Copy-Item -LiteralPath $ModuleDir -Destination $staged -Recurse
    Copy-Item -LiteralPath (Join-Path $PSScriptRoot 'LICENSE') -Destination $staged
    Set-ManifestReleaseNotes -Path (Join-Path $staged 'Avtomat.Ec2.psd1') -ReleaseNotes $notes

    $repository = Join-Path $OutputDir 'repository'
    $null = New-Item -ItemType Directory -Force -Path $repository
    $nupkg = Join-Path $repository "Avtomat.Ec2.$version.nupkg"
    if (Test-Path -LiteralPath $nupkg) { Remove-Item -LiteralPath $nupkg -Force }

    # Publish-PSResource publishes only to a registered repository, and registering writes the PSResourceGet settings
    # of the user (LocalApplicationData/PSResourceGet). So it runs in the pinned pwsh with XDG_DATA_HOME (where .NET
    # puts LocalApplicationData on Linux) in a folder of its own, which must exist (else .NET answers an empty path and
    # the settings land in the current folder), under a name of its own, unregistered afterwards. On Windows and macOS
    # that variable moves nothing: the entry is registered and removed in the user's own settings.
    $script = Join-Path $staging 'publish.ps1'
    Set-Content -LiteralPath $script -Encoding utf8 -Value @'
param([string] $Path, [string] $Repository)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$name = 'AvtomatEc2Package-' + [guid]::NewGuid().ToString('n')
Register-PSResourceRepository -Name $name -Uri $Repository -Trusted
try { Publish-PSResource -Path $Path -Repository $name }
finally { Unregister-PSResourceRepository -Name $name }
'@
    $settings = Join-Path $staging 'psresourceget-settings'
    $saved = $env:XDG_DATA_HOME
    try {
        $null = New-Item -ItemType Directory -Force -Path $settings
        Invoke-Dotnet tool restore
        $env:XDG_DATA_HOME = $settings
        Invoke-Dotnet tool run pwsh -- -NoProfile -NonInteractive -File $script -Path $staged -Repository $repository
    }
    finally {
        $env:XDG_DATA_HOME = $saved
        Remove-Item -LiteralPath $script, $settings -Recurse -Force -ErrorAction SilentlyContinue
    }
    if (-not (Test-Path -LiteralPath $nupkg)) { throw "Publish-PSResource wrote no $nupkg." }

    $zip = Join-Path $OutputDir "Avtomat.Ec2-$version.zip"
    Compress-Archive -Path $staged -DestinationPath $zip -Force
    Write-Host "Packaged $nupkg (file repository $repository) and $zip"
}

switch ($Task) {
    'Build' { Invoke-Dotnet build Avtomat.Ec2.sln --configuration $Configuration }
    'Test' {
        Invoke-Dotnet build Avtomat.Ec2.sln --configuration $Configuration
        Invoke-Dotnet test Avtomat.Ec2.sln --no-build -m:4 --configuration $Configuration
    }
    'Demo' {
        if (Test-Path -LiteralPath 'samples/Avtomat.Ec2.Demo') {
            Invoke-Dotnet run --project samples/Avtomat.Ec2.Demo --configuration $Configuration
        }
        else {
            Invoke-Dotnet run --project tests/Avtomat.Ec2.Emulator --configuration $Configuration -- --port 4566
        }
    }
    # -File passes one string: accept a comma-separated list too.
    'ImportTime' { Measure-ImportTime -Manifests @($ModulePath -split ',' | Where-Object { $_ }) | Format-Table -AutoSize }
    'Package' {
        if (-not $NoBuild) { Invoke-Dotnet build src/Avtomat.Ec2 --configuration $Configuration }
        Publish-ModulePackage -ModuleDir (Join-Path $PSScriptRoot 'artifacts/module/Avtomat.Ec2') -OutputDir $OutputPath
    }
}
