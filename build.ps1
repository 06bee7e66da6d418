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
.EXAMPLE
    ./build.ps1 -Task Test
.EXAMPLE
    dotnet tool restore; dotnet tool run pwsh -- -File build.ps1 -Task Test

    Without a pwsh of your own: the same, in the pwsh the repository pins.
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Demo', 'Package')]
    [string] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-Location -LiteralPath $PSScriptRoot

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
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
    'Package' {
        Invoke-Dotnet build src/Avtomat.Ec2 --configuration $Configuration
        $version = (Test-ModuleManifest -Path 'artifacts/module/Avtomat.Ec2/Avtomat.Ec2.psd1').Version
        $zip = "artifacts/Avtomat.Ec2-$version.zip"
        Compress-Archive -Path 'artifacts/module/Avtomat.Ec2' -DestinationPath $zip -Force
        Write-Host "Packaged $zip"
    }
}
