@{
    RootModule           = 'Avtomat.Ec2.dll'
    # Loaded before the root module: places the engine and its AWSSDK copy in the module's own load context (PowerShell 7)
    # so AWS.Tools, with any AWSSDK build, works beside it in either import order.
    NestedModules        = @('Avtomat.Ec2.Loader.dll')
    # The one place the version lives: MSBuild reads it for every assembly's version (Directory.Build.props), and
    # CHANGELOG.md must have a section for it (build.ps1 -Task Package copies that section into ReleaseNotes).
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0f3c1e-6a42-4d8e-9c7a-2f1e8d4b7a90'
    Author               = 'Avtomat developers'
    CompanyName          = 'Avtomat'
    Copyright            = '(c) Avtomat.Ec2 contributors. MIT License.'
    Description          = 'Copy and create EBS snapshots at scale: concurrency-limited, progress-reporting, duplicate-free snapshot copies across regions, on top of the AWS Tools credential and region context.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    CmdletsToExport      = @('Copy-AvSnapshot', 'Measure-AvSnapshotCopy', 'New-AvSnapshot', 'Wait-AvSnapshot')
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    FormatsToProcess     = @('Avtomat.Ec2.Format.ps1xml')
    PrivateData          = @{
        PSData = @{
            Tags         = @('AWS', 'EC2', 'EBS', 'Snapshot', 'Backup', 'DisasterRecovery', 'PSEdition_Desktop', 'PSEdition_Core')
            ProjectUri   = 'https://github.com/avtomat/Avtomat.Ec2'
            LicenseUri   = 'https://github.com/avtomat/Avtomat.Ec2/blob/main/LICENSE'
            # Not written here: build.ps1 -Task Package replaces this line in the packaged manifest with the section of
            # CHANGELOG.md for ModuleVersion, so the notes cannot go stale.
            ReleaseNotes = 'See CHANGELOG.md: https://github.com/avtomat/Avtomat.Ec2/blob/main/CHANGELOG.md'
        }
    }
}
