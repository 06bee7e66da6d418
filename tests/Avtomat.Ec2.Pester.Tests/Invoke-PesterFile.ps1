# Runs one Pester file in this (fresh) pwsh with the Pester module imported by path, and writes its NUnit XML result.
# Started by PesterFileRunTests.cs through the pinned dotnet tool, from the repository root:
#   dotnet tool run pwsh -- -NoProfile -NonInteractive -File tests/Avtomat.Ec2.Pester.Tests/Invoke-PesterFile.ps1 `
#       -Path tests/Avtomat.Ec2.Module.Tests.ps1 -PesterManifest ~/.nuget/packages/pester/5.7.1/tools/Pester.psd1 `
#       -ResultPath artifacts/pester/Avtomat.Ec2.Module.Tests.xml
# Exit code: 0 only when Pester ran at least one test and nothing failed (no test, block or container).
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Path,
    [Parameter(Mandatory)] [string] $PesterManifest,
    [Parameter(Mandatory)] [string] $ResultPath,
    [string] $PesterVersion
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$pester = Import-Module -Name $PesterManifest -Force -PassThru
if ($PesterVersion -and $pester.Version -ne [version]$PesterVersion) {
    throw "Imported Pester $($pester.Version) from $PesterManifest, expected $PesterVersion."
}
Write-Host "pwsh $($PSVersionTable.PSVersion) from $PSHOME, Pester $($pester.Version) from $($pester.ModuleBase)"

$config = New-PesterConfiguration
$config.Run.Path = $Path
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.Output.CIFormat = 'None'
$config.Output.RenderMode = 'Plaintext'
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = $ResultPath

$result = Invoke-Pester -Configuration $config

Write-Host ("Pester: {0} passed, {1} failed, {2} skipped, {3} not run; {4} failed blocks, {5} failed containers" -f
    $result.PassedCount, $result.FailedCount, $result.SkippedCount, $result.NotRunCount,
    $result.FailedBlocksCount, $result.FailedContainersCount)
foreach ($block in $result.FailedBlocks) {
    Write-Host "Failed block: $($block.ExpandedPath): $($block.ErrorRecord -join '; ')"
}
foreach ($container in $result.FailedContainers) {
    Write-Host "Failed container: $($container.Item): $($container.ErrorRecord -join '; ')"
}

$ok = $result.TotalCount -gt 0 -and $result.PassedCount -gt 0 -and $result.FailedCount -eq 0 -and
    $result.FailedBlocksCount -eq 0 -and $result.FailedContainersCount -eq 0
if ($ok) { exit 0 } else { exit 1 }
