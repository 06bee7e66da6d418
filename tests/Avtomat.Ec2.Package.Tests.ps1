#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The installable package, as a user gets it: build.ps1 -Task Package -NoBuild packages the module folder this build
# made (the same packaging the Package task runs, without a second dotnet build) into a file repository in a temporary
# folder. A fresh pwsh registers that folder as a repository and runs Install-PSResource Avtomat.Ec2 -Scope CurrentUser,
# with HOME in a temporary folder, so CurrentUser and PSResourceGet's settings are temporary too; another fresh pwsh with
# the same environment imports the module by name and copies a snapshot on the emulator. Also: what the .nupkg holds, its
# manifest's ReleaseNotes against CHANGELOG.md, and that module and assembly versions agree.

BeforeDiscovery {
    # On Windows, CurrentUser is the Documents folder and the PSResourceGet settings are in LocalApplicationData, which
    # no environment variable moves: installing there would change the user's own profile.
    $script:CannotIsolateCurrentUser = [System.Environment]::OSVersion.Platform -eq 'Win32NT'
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'EmulatorTestSupport.ps1') -SkipModuleImport
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    $script:SourceManifest = Import-PowerShellDataFile -LiteralPath (Join-Path $RepoRoot 'Avtomat.Ec2.psd1')
    $script:Version = $SourceManifest.ModuleVersion
    $script:ModuleDir = Split-Path -Parent $ManifestPath
    $script:Temp = Join-Path ([System.IO.Path]::GetTempPath()) ('avtomat-package-' + [guid]::NewGuid().ToString('n'))
    $null = New-Item -ItemType Directory -Path $Temp

    # The same PowerShell as this one: a pwsh executable, or (the dotnet tool) dotnet running pwsh.dll.
    $script:Pwsh = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    $script:PwshEntry = @()
    if ([System.IO.Path]::GetFileNameWithoutExtension($Pwsh) -eq 'dotnet') { $script:PwshEntry = @([System.Reflection.Assembly]::GetEntryAssembly().Location) }

    # The section of CHANGELOG.md for VERSION, read here on its own (not with build.ps1's code): the lines under its
    # '## [VERSION]' heading up to the next heading of that level or the link definitions.
    function script:Read-ChangelogSection([string] $Version) {
        $text = (Get-Content -Raw -LiteralPath (Join-Path $RepoRoot 'CHANGELOG.md')) -replace "`r`n", "`n"
        $match = [regex]::Match($text, '(?ms)^## \[' + [regex]::Escape($Version) + '\][^\n]*\n(?<body>.*?)(?=^## |^\[[^\]]+\]: |\z)')
        if (-not $match.Success) { throw "CHANGELOG.md has no section for $Version." }
        $match.Groups['body'].Value.Trim()
    }

    # Runs $Body in a fresh pwsh whose HOME (CurrentUser's modules, PSResourceGet's settings) is in $Temp and whose
    # PSModulePath is pwsh's default; returns the JSON object the body writes last.
    $script:IsolatedHome = Join-Path $Temp 'home'
    $script:IsolatedData = Join-Path $IsolatedHome '.local/share'
    $null = New-Item -ItemType Directory -Force -Path $IsolatedData
    # LocalApplicationData on macOS.
    $null = New-Item -ItemType Directory -Force -Path (Join-Path $IsolatedHome 'Library/Application Support')
    function script:Invoke-IsolatedSession([string] $Body, [hashtable] $Values = @{}) {
        $file = Join-Path $Temp ('session-{0}.ps1' -f [guid]::NewGuid().ToString('n'))
        Set-Content -LiteralPath $file -Encoding utf8 -Value ("param([string] `$ValuesJson)`n`$ErrorActionPreference = 'Stop'`n`$ProgressPreference = 'SilentlyContinue'`n`$v = `$ValuesJson | ConvertFrom-Json`n" + $Body)
        $names = 'HOME', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'PSModulePath'
        $saved = @{}
        foreach ($name in $names) { $saved[$name] = [System.Environment]::GetEnvironmentVariable($name) }
        try {
            # pwsh finds CurrentUser's modules under XDG_DATA_HOME, PSResourceGet installs them under HOME: no XDG_*,
            # so both use HOME/.local/share. It must exist: .NET answers LocalApplicationData (where PSResourceGet
            # keeps its settings) with an empty path, the current folder, when it does not.
            $env:HOME = $IsolatedHome
            foreach ($name in 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME') { [System.Environment]::SetEnvironmentVariable($name, $null) }
            # Not inherited from this session (whose PSModulePath names the real user's folder): pwsh builds its default.
            [System.Environment]::SetEnvironmentVariable('PSModulePath', $null)
            $output = & $Pwsh @PwshEntry -NoProfile -NonInteractive -File $file -ValuesJson ($Values | ConvertTo-Json -Compress -Depth 5) 2>&1 | ForEach-Object { "$_" }
            if ($LASTEXITCODE -ne 0) { throw "The session failed (exit $LASTEXITCODE):`n$($output -join "`n")" }
            $last = @($output | Where-Object { $_ -like '{*' })[-1]
            if (-not $last) { throw "The session wrote no result:`n$($output -join "`n")" }
            $last | ConvertFrom-Json
        }
        finally {
            foreach ($name in $names) { [System.Environment]::SetEnvironmentVariable($name, $saved[$name]) }
            Remove-Item -LiteralPath $file -ErrorAction SilentlyContinue
        }
    }

    # The packaging itself, in a process of its own (build.ps1 sets its location to the repository root).
    $script:PackageDir = Join-Path $Temp 'package'
    $packOutput = & $Pwsh @PwshEntry -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'build.ps1') -Task Package -NoBuild -OutputPath $PackageDir 2>&1 | ForEach-Object { "$_" }
    if ($LASTEXITCODE -ne 0) { throw "build.ps1 -Task Package -NoBuild failed (exit $LASTEXITCODE):`n$($packOutput -join "`n")" }
    $script:Repository = Join-Path $PackageDir 'repository'
    $script:Nupkg = Join-Path $Repository "Avtomat.Ec2.$Version.nupkg"

    # What the package holds, read from the .nupkg itself.
    $script:Entries = @{}
    $zip = [System.IO.Compression.ZipFile]::OpenRead($Nupkg)
    try {
        foreach ($entry in $zip.Entries) {
            $name = [System.Uri]::UnescapeDataString($entry.FullName)
            $stream = $entry.Open()
            $memory = [System.IO.MemoryStream]::new()
            try { $stream.CopyTo($memory) } finally { $stream.Dispose() }
            $Entries[$name] = $memory.ToArray()
        }
    }
    finally { $zip.Dispose() }
    function script:Get-EntryText([string] $Name) {
        $bytes = $Entries[$Name]
        if ($null -eq $bytes) { throw "The package has no $Name." }
        [System.IO.StreamReader]::new([System.IO.MemoryStream]::new($bytes), $true).ReadToEnd()
    }
    $script:PackagedManifestPath = Join-Path $Temp 'packaged.psd1'
    Set-Content -LiteralPath $PackagedManifestPath -Value (Get-EntryText 'Avtomat.Ec2.psd1') -Encoding utf8
    $script:PackagedManifest = Import-PowerShellDataFile -LiteralPath $PackagedManifestPath
    $script:Nuspec = [xml](Get-EntryText 'Avtomat.Ec2.nuspec')
}

AfterAll {
    Stop-AvTestEmulator
    if ($Temp) { Remove-Item -LiteralPath $Temp -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'The Avtomat.Ec2 package' {
    It 'is Avtomat.Ec2.<version>.nupkg in the file repository, and a zip beside it' {
        Test-Path -LiteralPath $Nupkg | Should -BeTrue
        @(Get-ChildItem -LiteralPath $Repository -Filter '*.nupkg').Name | Should -Be @("Avtomat.Ec2.$Version.nupkg")
        Test-Path -LiteralPath (Join-Path $PackageDir "Avtomat.Ec2-$Version.zip") | Should -BeTrue
    }

    It 'holds exactly the built module folder and LICENSE: no pdb, no tests' {
        $nuget = '^(_rels/|package/|\[Content_Types\]\.xml$|Avtomat\.Ec2\.nuspec$)'
        $content = @($Entries.Keys | Where-Object { $_ -notmatch $nuget } | Sort-Object)
        $built = @(Get-ChildItem -LiteralPath $ModuleDir -Recurse -File | ForEach-Object {
                [System.IO.Path]::GetRelativePath($ModuleDir, $_.FullName).Replace('\', '/')
            }) + 'LICENSE'
        $content | Should -Be @($built | Sort-Object)
        $content | Should -Not -Match '\.pdb$|Tests|\.ps1$|\.deps\.json$'
    }

    It 'holds the manifest, both root assemblies, the format file, en-US help and the Dependencies folder' {
        foreach ($name in 'Avtomat.Ec2.psd1', 'Avtomat.Ec2.dll', 'Avtomat.Ec2.Loader.dll', 'Avtomat.Ec2.Format.ps1xml',
            'en-US/Avtomat.Ec2.dll-Help.xml', 'en-US/about_Avtomat.Ec2.help.txt', 'en-US/about_Avtomat.Ec2_Credentials.help.txt',
            'en-US/about_Avtomat.Ec2_Resume.help.txt', 'en-US/about_Avtomat.Ec2_Runbooks.help.txt',
            'Dependencies/Avtomat.Ec2.Engine.dll', 'Dependencies/AWSSDK.Core.dll', 'Dependencies/AWSSDK.EC2.dll') {
            $Entries.Keys | Should -Contain $name
        }
        # Nothing of the engine's at the root, where the default load context would find it.
        $Entries.Keys | Should -Not -Contain 'Avtomat.Ec2.Engine.dll'
        $Entries.Keys | Should -Not -Contain 'AWSSDK.EC2.dll'
    }

    It 'ships the MIT LICENSE of the repository' {
        $license = Get-EntryText 'LICENSE'
        $license | Should -BeExactly (Get-Content -Raw -LiteralPath (Join-Path $RepoRoot 'LICENSE'))
        $license | Should -Match '^MIT License'
        $license | Should -Match 'Copyright \(c\) Avtomat\.Ec2 contributors'
    }

    It 'has the CHANGELOG section of its version as the manifest''s ReleaseNotes and the nuspec''s releaseNotes' {
        $section = Read-ChangelogSection $Version
        $section | Should -Not -BeNullOrEmpty
        $PackagedManifest.PrivateData.PSData.ReleaseNotes | Should -BeExactly $section
        $Nuspec.package.metadata.releaseNotes | Should -BeExactly $section
    }

    It 'is the root manifest except for ReleaseNotes' {
        $root = $SourceManifest
        $PackagedManifest.PrivateData.PSData.ReleaseNotes | Should -Not -Be $root.PrivateData.PSData.ReleaseNotes
        foreach ($key in $root.Keys | Where-Object { $_ -ne 'PrivateData' }) {
            ($PackagedManifest[$key] | ConvertTo-Json -Compress) | Should -Be ($root[$key] | ConvertTo-Json -Compress) -Because $key
        }
        foreach ($key in 'Tags', 'ProjectUri', 'LicenseUri') {
            $PackagedManifest.PrivateData.PSData[$key] | Should -Be $root.PrivateData.PSData[$key] -Because $key
        }
    }

    It 'names the project and its license: nuspec and manifest URIs' {
        $PackagedManifest.PrivateData.PSData.ProjectUri | Should -Be 'https://github.com/avtomat/Avtomat.Ec2'
        $PackagedManifest.PrivateData.PSData.LicenseUri | Should -Be 'https://github.com/avtomat/Avtomat.Ec2/blob/main/LICENSE'
        $Nuspec.package.metadata.id | Should -Be 'Avtomat.Ec2'
        $Nuspec.package.metadata.projectUrl | Should -Be 'https://github.com/avtomat/Avtomat.Ec2'
        $Nuspec.package.metadata.licenseUrl | Should -Be 'https://github.com/avtomat/Avtomat.Ec2/blob/main/LICENSE'
    }

    It 'has one version: the manifest''s ModuleVersion is the nuspec''s and every packaged assembly''s' {
        $expected = [version]$Version
        $Nuspec.package.metadata.version | Should -Be $Version
        $four = [version]::new($expected.Major, $expected.Minor, $expected.Build, 0)
        foreach ($name in 'Avtomat.Ec2.dll', 'Avtomat.Ec2.Loader.dll', 'Dependencies/Avtomat.Ec2.Engine.dll') {
            $path = Join-Path $Temp ([System.IO.Path]::GetFileName($name))
            [System.IO.File]::WriteAllBytes($path, $Entries[$name])
            [version]([System.Diagnostics.FileVersionInfo]::GetVersionInfo($path).FileVersion) | Should -Be $four -Because "$name FileVersion"
            [System.Reflection.AssemblyName]::GetAssemblyName($path).Version | Should -Be $four -Because "$name AssemblyVersion"
        }
    }

    It 'has exactly one CHANGELOG heading for the manifest''s version' {
        (Get-Content -LiteralPath (Join-Path $RepoRoot 'CHANGELOG.md')) -match ('^## \[' + [regex]::Escape($Version) + '\]') | Should -HaveCount 1
    }
}

Describe 'Installing the package with Install-PSResource and using it in a fresh pwsh' -Skip:$CannotIsolateCurrentUser {
    BeforeAll {
        $script:Installed = Invoke-IsolatedSession -Values @{ Repository = $Repository } -Body @'
Register-PSResourceRepository -Name AvtomatLocal -Uri $v.Repository -Trusted
try {
    Install-PSResource -Name Avtomat.Ec2 -Repository AvtomatLocal -Scope CurrentUser
    $resource = Get-InstalledPSResource -Name Avtomat.Ec2 -Scope CurrentUser
}
finally { Unregister-PSResourceRepository -Name AvtomatLocal }
@{
    Version = "$($resource.Version)"
    InstalledLocation = $resource.InstalledLocation
    Repository = $resource.Repository
    UserModules = ($env:PSModulePath -split [System.IO.Path]::PathSeparator)[0]
    Settings = [System.Environment]::GetFolderPath('LocalApplicationData')
} | ConvertTo-Json -Compress
'@
        $script:Source = (New-Snapshot -Region us-east-1)[0]
        $script:Used = Invoke-IsolatedSession -Values @{ Url = $Url; Id = $Source; SecretKey = $SecretKey } -Body @'
$env:AWS_EC2_METADATA_DISABLED = 'true'
# By name, as a user does: found on this session's PSModulePath (CurrentUser's folder), not by a path.
Import-Module -Name Avtomat.Ec2
$module = Get-Module -Name Avtomat.Ec2
$manifest = Test-ModuleManifest -Path (Join-Path $module.ModuleBase 'Avtomat.Ec2.psd1')
$copy = Copy-AvSnapshot -SourceSnapshotId $v.Id -SourceRegion us-east-1 -Region us-west-2 -EndpointUrl $v.Url -AccessKey AKIDPACKAGE -SecretKey $v.SecretKey
@{
    ModuleBase = $module.ModuleBase
    Version = "$($module.Version)"
    Commands = @($module.ExportedCommands.Keys | Sort-Object)
    ManifestVersion = "$($manifest.Version)"
    ManifestReleaseNotes = $manifest.ReleaseNotes
    HelpSynopsis = (Get-Help Copy-AvSnapshot).Synopsis
    Copy = @{ SnapshotId = $copy.SnapshotId; SourceSnapshotId = $copy.SourceSnapshotId; Region = $copy.Region; State = "$($copy.State)" }
} | ConvertTo-Json -Compress -Depth 5
'@
    }

    It 'installs Avtomat.Ec2 <version> from the file repository into the temporary CurrentUser scope' {
        $Installed.Version | Should -Be $Version
        $Installed.Repository | Should -Be 'AvtomatLocal'
        $data = [System.IO.Path]::GetFullPath($IsolatedData)
        $Installed.UserModules | Should -BeLike "$data*"
        $Installed.InstalledLocation | Should -BeLike "$data*"
        $Installed.Settings | Should -BeLike "$data*"
        Test-Path -LiteralPath (Join-Path $Installed.UserModules "Avtomat.Ec2/$Version/Avtomat.Ec2.psd1") | Should -BeTrue
    }

    It 'imports by name from the installed folder, with its version and cmdlets' {
        $Used.ModuleBase | Should -Be (Join-Path $Installed.UserModules "Avtomat.Ec2/$Version")
        $Used.Version | Should -Be $Version
        $Used.Commands | Should -Be @($SourceManifest.CmdletsToExport | Sort-Object)
        $Used.HelpSynopsis | Should -Not -BeNullOrEmpty
    }

    It 'passes Test-ModuleManifest on the installed copy, with the CHANGELOG section as its ReleaseNotes' {
        $Used.ManifestVersion | Should -Be $Version
        $Used.ManifestReleaseNotes | Should -BeExactly (Read-ChangelogSection $Version)
    }

    It 'copies a snapshot on the emulator' {
        $Used.Copy.SourceSnapshotId | Should -Be $Source
        $Used.Copy.Region | Should -Be 'us-west-2'
        $Used.Copy.State | Should -Be 'completed'
        $Used.Copy.SnapshotId | Should -Match '^snap-[0-9a-f]{17}$'
        Get-CopyCount 'us-west-2' | Should -Be 1
    }
}
