#Requires -Version 5.1
<#
.SYNOPSIS
    Builds, tests, demonstrates and packages Avtomat.Ec2 with the same dotnet commands CI uses.
.DESCRIPTION
    Build   : dotnet build; MSBuild lays out the importable module in artifacts/module/Avtomat.Ec2.
    Test    : dotnet test Avtomat.Ec2.sln (the README's test command), which also runs the Pester files tests/*.Tests.ps1,
              each in a fresh pwsh 7.6.9 from the tool manifest .config/dotnet-tools.json with the pinned Pester.
    Demo    : runs samples/Avtomat.Ec2.Demo when it exists (emulator + hosted PowerShell), else starts the emulator.
    Package : builds Release and zips the module folder into artifacts/Avtomat.Ec2-<version>.zip.
    ImportTime : Import-Module time of each -ModulePath manifest (default: the built module), the median of 10 fresh
              processes of this same PowerShell, the manifests interleaved so they share the machine's state.
.EXAMPLE
    ./build.ps1 -Task Test
.EXAMPLE
    dotnet tool restore; dotnet tool run pwsh -- -File build.ps1 -Task Test

    Without a pwsh of your own: the same, in the pwsh the repository pins.
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Demo', 'Package', 'ImportTime')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # ImportTime: the module manifests to time.
    [string[]] $ModulePath = @('artifacts/module/Avtomat.Ec2/Avtomat.Ec2.psd1')
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

switch ($Task) {
    'Build' { Invoke-Dotnet build Avtomat.Ec2.sln --configuration $Configuration }
    'Test' { Invoke-Dotnet test Avtomat.Ec2.sln --configuration $Configuration }
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
        Invoke-Dotnet build src/Avtomat.Ec2 --configuration $Configuration
        $version = (Test-ModuleManifest -Path 'artifacts/module/Avtomat.Ec2/Avtomat.Ec2.psd1').Version
        $zip = "artifacts/Avtomat.Ec2-$version.zip"
        Compress-Archive -Path 'artifacts/module/Avtomat.Ec2' -DestinationPath $zip -Force
        Write-Host "Packaged $zip"
    }
}
